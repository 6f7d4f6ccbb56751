/**
 * Crash at every step: the payments service is SIGKILLed right after the provider took effect
 * (authorize, capture, void, refund) and before its outcome was recorded or published (its
 * crash-window hook, PAYMENTS_CRASH_AFTER_PROVIDER_CALL); a fresh instance gets the command again and
 * calls the provider with the same idempotency key. The order service is SIGKILLed right after each
 * of its transitions commits, before the relay publishes its command (ORDER_CRASH_AFTER_TRANSITION).
 * The order still ends in the right final state, and the provider's own records show each
 * operation exactly once, or not at all. One stack of processes for the file; only the killed
 * service is restarted. (Inventory's reservation commits with its answer in its outbox, as the
 * order service's transitions do: the same crash leaves nothing half done.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../shared/db.js';
import { cancelOrder, getOrder, postOrder, testPool, type OrderView } from '../support/order-api.js';
import { operationsOf, startPayments, startProvider, type PaymentProvider } from '../support/payments.js';
import { ServiceFleet, type RunningService } from '../support/services.js';
import { eventually } from '../support/stack.js';

const fleet = new ServiceFleet();
let provider: PaymentProvider;
let order: RunningService;
let payments: RunningService | undefined;
let pool: Pool;
const domain = `crash-${randomUUID().slice(0, 8)}.example`;
// A killed member holds its partitions for the session timeout: the floor, so the next one takes over soon.
const paymentsEnv = { KAFKA_SESSION_TIMEOUT_MS: '6000' };
// Long enough for a killed member's partitions to move (session timeout) within the first attempt.
const orderEnv = { PAYMENT_AUTHORIZATION_TIMEOUT_MS: '30000', PAYMENT_STEP_TIMEOUT_MS: '5000' };

async function place(name: string, sku = 'SKU-029', quantity = 1): Promise<string> {
  const response = await postOrder(order.url, { customerId: name, email: `${name}@${domain}`, currency: 'EUR', items: [{ sku, quantity }] });
  expect(response.status).toBe(202);
  return response.body.orderId;
}

function until(id: string, status: string, timeoutMs = 60_000): Promise<OrderView> {
  return eventually(async () => {
    const current = (await getOrder(order.url, id)).body;
    return current.status === status ? current : undefined;
  }, `order ${id} ${status}`, timeoutMs);
}

/** Runs `act` against a payments instance that dies after the provider's answer to `action`, then brings a healthy one back. */
async function crashingAt(action: string, act: () => Promise<string>): Promise<void> {
  if (payments) await fleet.stop(payments);
  const crashing = await startPayments(fleet, provider, { ...paymentsEnv, PAYMENTS_CRASH_AFTER_PROVIDER_CALL: action });
  const id = await act();
  const exit = await Promise.race([crashing.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 45_000))]);
  // Only the hook kills it (its log line may not be flushed before the SIGKILL).
  expect(exit, `the payments service died in its ${action} crash window`).toEqual({ code: null, signal: 'SIGKILL' });
  // It died after the provider's effect: the provider holds it, the pipeline does not know yet.
  expect((await operationsOf(provider, id))[action.toLowerCase()]).toBe(1);
  payments = await startPayments(fleet, provider, paymentsEnv);
}

beforeAll(async () => {
  pool = testPool();
  await pool.query("UPDATE stock SET available = CASE sku WHEN 'SKU-029' THEN 10000 ELSE 10 END WHERE sku IN ('SKU-028', 'SKU-029')");
  provider = await startProvider();
  [order] = await Promise.all([
    fleet.start('order', orderEnv),
    fleet.start('inventory'),
    fleet.start('scheduler'),
  ]);
});

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(fleet.tails(20));
});

afterAll(async () => {
  await fleet.stopAll();
  await provider?.close();
  await pool?.end();
});

describe('killed between an effect and its publication', () => {
  it('after the authorization: CONFIRMED, one authorization, one capture', async () => {
    let id = '';
    await crashingAt('AUTHORIZE', async () => (id = await place('authorize')));
    await until(id, 'CONFIRMED');
    expect(await operationsOf(provider, id)).toEqual({ authorize: 1, capture: 1, void: 0, refund: 0 });
  });

  it('after the capture: CONFIRMED, one capture', async () => {
    let id = '';
    await crashingAt('CAPTURE', async () => (id = await place('capture')));
    const done = await until(id, 'CONFIRMED');
    expect(done.payment?.status).toBe('captured');
    expect(await operationsOf(provider, id)).toEqual({ authorize: 1, capture: 1, void: 0, refund: 0 });
  });

  it('after the void (stock short): REJECTED, voided once, nothing captured', async () => {
    let id = '';
    await crashingAt('VOID', async () => (id = await place('void', 'SKU-028', 11)));
    await until(id, 'REJECTED');
    expect(await operationsOf(provider, id)).toEqual({ authorize: 1, capture: 0, void: 1, refund: 0 });
  });

  it('the order service killed after each of its transitions commits, before its events are published: CONFIRMED, one capture', async () => {
    // Every start dies at the next of these transitions; the redelivered answer is then a duplicate
    // (its claim committed with the transition) and the restarted relay publishes the command.
    const env = { ...orderEnv, KAFKA_SESSION_TIMEOUT_MS: '6000', ORDER_CRASH_AFTER_TRANSITION: 'PAYMENT_AUTHORIZED,RESERVED,CONFIRMED' };
    await fleet.stop(order);
    order = await fleet.start('order', env);
    const id = await place('order-crash');
    const deaths: string[] = [];
    for (const state of ['PAYMENT_AUTHORIZED', 'RESERVED', 'CONFIRMED']) {
      const exit = await Promise.race([order.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 45_000))]);
      expect(exit, `the order service died after ${state}`).toEqual({ code: null, signal: 'SIGKILL' });
      const { rows } = await pool.query<{ status: string }>('SELECT status FROM orders WHERE id = $1', [id]);
      deaths.push(rows[0]!.status);
      order = await fleet.start('order', env);
    }
    expect(deaths).toEqual(['PAYMENT_AUTHORIZED', 'RESERVED', 'CONFIRMED']);
    await until(id, 'CONFIRMED');
    expect(await operationsOf(provider, id)).toEqual({ authorize: 1, capture: 1, void: 0, refund: 0 });
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM stock_reservations WHERE order_id = $1 AND status = 'RESERVED'", [id]);
    expect(rows[0]!.n).toBe(1);
    await fleet.stop(order);
    order = await fleet.start('order', orderEnv);
  });

  it('after the refund (cancel of a confirmed order): CANCELLED, refunded once', async () => {
    const id = await place('refund');
    await until(id, 'CONFIRMED');
    await crashingAt('REFUND', async () => {
      expect((await cancelOrder(order.url, id)).status).toBe(202);
      return id;
    });
    await until(id, 'CANCELLED');
    expect(await operationsOf(provider, id)).toEqual({ authorize: 1, capture: 1, void: 0, refund: 1 });
  });
});
