import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderRequest } from '../../test/support/order-api.js';
import { authorization } from '../../test/support/api-client.js';

export interface Accepted {
  orderId: string;
  lines: number;
}

export interface Load {
  /** Orders the API accepted (202), in request order. */
  accepted: Accepted[];
  /** Requests answered so far (accepted or refused for good), for scenarios to time their faults. */
  done: () => number;
  total: number;
  /** Resolves when every request has its final answer. */
  finished: Promise<void>;
  /** Attempts that failed and were retried (API down, 5xx). */
  retries: () => number;
}

/**
 * `clients` concurrent clients place `orders`, each request retried with its Idempotency-Key until
 * the API answers 202 (an order service killed mid-request, or a database outage, must not turn a
 * retry into a second order). The API's address is asked for on each attempt: a restarted order
 * service may listen elsewhere.
 */
export function placeOrders(requests: readonly OrderRequest[], clients: number, apiUrl: () => string | undefined, runId: string): Load {
  const accepted: Array<Accepted | undefined> = new Array(requests.length);
  let next = 0;
  let done = 0;
  let retries = 0;
  const place = async (index: number): Promise<void> => {
    const request = requests[index]!;
    for (let attempt = 0; ; attempt++) {
      const url = apiUrl();
      const response = url
        ? await fetch(`${url}/orders`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `${runId}-${index}`, ...authorization() },
            body: JSON.stringify(request),
            signal: AbortSignal.timeout(10_000),
          }).catch(() => undefined)
        : undefined;
      if (response?.status === 202) {
        const body = (await response.json()) as { orderId: string };
        accepted[index] = { orderId: body.orderId, lines: request.items.length };
        return;
      }
      if (response && response.status >= 400 && response.status < 500 && response.status !== 409 && response.status !== 429) {
        throw new Error(`order ${index} refused: ${response.status} ${await response.text()}`);
      }
      await response?.body?.cancel().catch(() => undefined);
      retries++;
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
    }
  };
  const finished = Promise.all(
    Array.from({ length: Math.min(clients, requests.length) }, async () => {
      while (next < requests.length) {
        const index = next++;
        await place(index);
        done++;
      }
    }),
  ).then(() => undefined);
  return {
    get accepted() {
      return accepted.filter((a): a is Accepted => a !== undefined);
    },
    done: () => done,
    total: requests.length,
    finished,
    retries: () => retries,
  };
}

/** Resolves once `fraction` of the load's requests are answered. */
export async function progress(load: Load, fraction: number): Promise<void> {
  while (load.done() < load.total * fraction) await sleep(100);
}
