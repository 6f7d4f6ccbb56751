import type { Pool } from '../../shared/db.js';
import { createPool } from '../../shared/db.js';
import { testConfig, testLogger } from './stack.js';
import { apiFetch } from './api-client.js';
import type { TransitionView } from '../../services/order/orders.js';

export interface OrderRequest {
  customerId: string;
  email: string;
  currency: string;
  items: Array<{ sku: string; quantity: number }>;
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

async function call<T>(url: string, init: RequestInit): Promise<ApiResponse<T>> {
  const response = await apiFetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as T };
}

export function postOrder(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<{ orderId: string; status: string; field?: string; message?: string }>> {
  return call(`${baseUrl}/orders`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A POST with the raw body and headers as given (for malformed requests). */
export function postRaw(baseUrl: string, body: string | undefined, headers: Record<string, string>): Promise<ApiResponse> {
  return call(`${baseUrl}/orders`, { method: 'POST', headers, body });
}

export interface OrderView {
  orderId: string;
  status: string;
  statusReason: string | null;
  items: Array<{ sku: string; quantity: number; unitPriceCents: number }>;
  totalCents: number;
  createdAt: string;
  updatedAt: string;
  steps: Record<string, { outcome: string; at: string; handledBy: string | null; detail: unknown }>;
  /** The order's scheduler jobs by type (order-timeout, order-follow-up). */
  schedules?: Record<string, { state: string; dueAt: string }>;
  payment?: { status: string | null; chargeId: string | null; amountCents: number; currency: string; updatedAt: string | null };
}


export function getHistory(baseUrl: string, id: string): Promise<ApiResponse<{ orderId: string; transitions: TransitionView[] }>> {
  return call(`${baseUrl}/orders/${id}/history`, { method: 'GET' });
}

export function getOrder(baseUrl: string, id: string): Promise<ApiResponse<OrderView>> {
  return call(`${baseUrl}/orders/${id}`, { method: 'GET' });
}

export function cancelOrder(baseUrl: string, id: string): Promise<ApiResponse<{ orderId: string; status: string }>> {
  return call(`${baseUrl}/orders/${id}/cancel`, { method: 'POST' });
}

/** A pool on the test database, for assertions on what the services stored. */
export function testPool(): Pool {
  return createPool(testConfig().databaseUrl, testLogger, { max: 4 });
}

/** Runs `work` over `items` with at most `concurrency` in flight; results in input order. */
export async function inParallel<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    }),
  );
  return results;
}
