/**
 * The scheduler in the domain, over HTTP with real processes: the reservation step's timeout (the
 * workflow's; ORDER_PENDING_TIMEOUT_MS is its older name) and the order follow-up, with delays of seconds.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../shared/db.js';
import { searchMail } from '../support/mail.js';
import { cancelOrder, getOrder, postOrder, testPool, type OrderView } from '../support/order-api.js';
import { startPayments, startProvider, type PaymentProvider } from '../support/payments.js';
import { ServiceFleet, type RunningService } from '../support/services.js';
import { eventually, testLogger } from '../support/stack.js';

const fleet = new ServiceFleet();
let pool: Pool;
let order: RunningService;
let provider: PaymentProvider;
const domain = `delayed-${randomUUID().slice(0, 8)}.example`;
const PENDING_TIMEOUT_MS = 6000;
const FOLLOWUP_DELAY_MS = 4000;

async function place(name: string, api: RunningService = order): Promise<string> {
  const response = await postOrder(api.url, {
    customerId: `customer-${name}`,
    email: `${name}@${domain}`,
    currency: 'EUR',
    items: [{ sku: 'SKU-030', quantity: 1 }],
  });
  expect(response.status).toBe(202);
  return response.body.orderId;
}

async function view(id: string): Promise<OrderView> {
  return (await getOrder(order.url, id)).body;
}

function until(id: string, what: string, done: (order: OrderView) => boolean, timeoutMs = 60_000): Promise<OrderView> {
  return eventually(async () => {
    const current = await view(id);
    return done(current) ? current : undefined;
  }, `order ${id}: ${what}`, timeoutMs);
}

async function followUpMails(id: string): Promise<number> {
  return (await searchMail(`to:"@${domain}" subject:"How was your order ${id}"`)).filter((m) => m.Subject === `How was your order ${id}?`).length;
}

beforeAll(async () => {
  pool = testPool();
  provider = await startProvider();
  [, order] = await Promise.all([
    startPayments(fleet, provider),
    fleet.start('order', { ORDER_PENDING_TIMEOUT_MS: String(PENDING_TIMEOUT_MS), FOLLOWUP_DELAY_MS: String(FOLLOWUP_DELAY_MS) }),
    fleet.start('scheduler'),
    fleet.start('email'),
  ]);
});

afterAll(async () => {
  await fleet.stopAll();
  await provider?.close();
  await pool?.end();
});

describe('delayed processing in the order flow', () => {
  it('ends an order nobody answered REJECTED (timeout), and releases what inventory reserves for it afterwards', async () => {
    // No inventory runs: the payment is authorized, the reservation's answer does not come.
    const id = await place('late');
    const placed = await view(id);
    expect(['PENDING', 'PAYMENT_AUTHORIZED']).toContain(placed.status);
    expect(placed.schedules?.['order-timeout']?.state).toBe('pending');

    const timedOut = await until(id, 'rejected by its timeout', (o) => o.status === 'REJECTED');
    expect(timedOut.statusReason).toBe('timeout');
    expect(timedOut.steps.timeout?.outcome).toBe('rejected');
    expect(timedOut.payment?.status).toBe('voided');
    // The timeout moved the order to VOIDING, whose own timeout the void's answer cancelled.
    expect(timedOut.schedules?.['order-timeout']?.state).toBe('cancelled');
    expect(Date.parse(timedOut.updatedAt) - Date.parse(timedOut.createdAt)).toBeGreaterThanOrEqual(PENDING_TIMEOUT_MS);

    // The answer comes late: inventory reserves on the workflow's request and must give the stock back.
    await fleet.start('inventory');
    await eventually(
      async () => {
        const { rows } = await pool.query<{ reserved: number; released: number }>(
          `SELECT count(*) FILTER (WHERE status = 'RESERVED')::int AS reserved, count(*) FILTER (WHERE status = 'RELEASED')::int AS released
             FROM stock_reservations WHERE order_id = $1`,
          [id],
        );
        return rows[0]!.reserved === 0 && rows[0]!.released > 0 ? true : undefined;
      },
      'the late reservation released',
      60_000,
    );
    // Inventory may release (on the order.cancelled the timeout sent) before the order service has
    // recorded its late answer: wait for the step rather than read it once.
    const final = await until(id, 'the late answer recorded', (o) => o.steps.inventory?.outcome === 'reserved');
    expect(final.status).toBe('REJECTED');
    expect(final.statusReason).toBe('timeout');
    expect(final.steps.inventory?.outcome).toBe('reserved');
  });

  it('a confirmed order: the timeout is cancelled and one follow-up mail goes out after the delay', async () => {
    const id = await place('happy');
    const confirmed = await until(id, 'confirmed', (o) => o.status === 'CONFIRMED');
    expect(confirmed.schedules?.['order-timeout']?.state).toBe('cancelled');
    expect(confirmed.schedules?.['order-follow-up']?.state).toBe('pending');

    await eventually(async () => ((await followUpMails(id)) >= 1 ? true : undefined), 'the follow-up mail', 60_000);
    const followed = await until(id, 'follow-up reported', (o) => o.steps['follow-up']?.outcome === 'sent');
    expect(followed.schedules?.['order-follow-up']?.state).toBe('dispatched');
    const dueAt = Date.parse(followed.schedules!['order-follow-up']!.dueAt);
    expect(Date.parse(followed.steps['follow-up']!.at)).toBeGreaterThanOrEqual(dueAt);

    // Past the pending timeout too: still CONFIRMED, one mail.
    await sleep(Math.max(0, Date.parse(confirmed.createdAt) + PENDING_TIMEOUT_MS + 1500 - Date.now()));
    const later = await view(id);
    expect(later.status).toBe('CONFIRMED');
    expect(later.steps.timeout).toBeUndefined();
    expect(await followUpMails(id)).toBe(1);
  });

  it('cancelling a confirmed order cancels its follow-up: no mail', async () => {
    const id = await place('cancel');
    await until(id, 'confirmed', (o) => o.status === 'CONFIRMED');
    expect((await cancelOrder(order.url, id)).status).toBe(202);
    const cancelled = await until(id, 'cancelled', (o) => o.status === 'CANCELLED');
    expect(cancelled.schedules?.['order-follow-up']?.state).toBe('cancelled');

    const dueAt = Date.parse(cancelled.schedules!['order-follow-up']!.dueAt);
    await sleep(Math.max(0, dueAt + 2000 - Date.now()));
    expect(await followUpMails(id)).toBe(0);
    expect((await view(id)).steps['follow-up']).toBeUndefined();
  });

  it('answer and timeout racing: every order ends with exactly one outcome, and a timed-out order holds no stock', async () => {
    // A second API instance whose timeout is about as long as inventory takes to answer.
    const racing = await fleet.start('order', { ORDER_PENDING_TIMEOUT_MS: '150' });
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => place(`race-${i}`, racing)));
    const { rows } = await eventually(async () => {
      const result = await pool.query<{ id: string; status: string; status_reason: string | null; reserved: number; released: number; timeout_step: boolean }>(
        `SELECT o.id::text, o.status, o.status_reason,
                (SELECT count(*)::int FROM stock_reservations r WHERE r.order_id = o.id::text AND r.status = 'RESERVED') AS reserved,
                (SELECT count(*)::int FROM stock_reservations r WHERE r.order_id = o.id::text AND r.status = 'RELEASED') AS released,
                EXISTS (SELECT 1 FROM order_steps s WHERE s.order_id = o.id AND s.step = 'timeout') AS timeout_step
           FROM orders o WHERE o.id = ANY($1::uuid[])`,
        [ids],
      );
      // Settled: every order in a final state, and every timed-out order's late reservation given back.
      const settled = result.rows.every((r) => ['CONFIRMED', 'REJECTED'].includes(r.status) && !(r.status === 'REJECTED' && r.reserved > 0));
      return settled ? result : undefined;
    }, 'every racing order settled', 60_000);

    const outcomes = rows.map((r) => ({
      id: r.id,
      outcome: r.status === 'REJECTED' && r.status_reason === 'timeout' ? 'timeout' : r.status,
      reserved: r.reserved,
      timeoutStep: r.timeout_step,
    }));
    const expected = (o: (typeof outcomes)[number]) =>
      o.outcome === 'CONFIRMED' ? { reserved: 1, timeoutStep: false } : o.outcome === 'timeout' ? { reserved: 0, timeoutStep: true } : { reserved: 0, timeoutStep: false };
    expect(outcomes.map((o) => ({ id: o.id, reserved: o.reserved, timeoutStep: o.timeoutStep }))).toEqual(outcomes.map((o) => ({ id: o.id, ...expected(o) })));
    expect(outcomes.every((o) => ['CONFIRMED', 'timeout', 'REJECTED'].includes(o.outcome))).toBe(true);
    const confirmed = outcomes.filter((o) => o.outcome === 'CONFIRMED');
    const timedOut = outcomes.filter((o) => o.outcome === 'timeout');
    testLogger.info({ confirmed: confirmed.length, timedOut: timedOut.length }, 'answer/timeout race');
  });
});
