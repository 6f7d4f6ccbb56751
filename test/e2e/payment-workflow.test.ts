/**
 * The order workflow with payment, every path of its table over HTTP, with real processes (order,
 * inventory, payments, scheduler, email) and the provider simulator as a real HTTP server, checked
 * in the provider's own records: approved (captured once), declined (nothing charged, a mail),
 * stock short after authorization (voided, nothing captured), cancel after confirm (refunded),
 * provider outage during authorization (retried, then REJECTED payment_timeout, nothing left held),
 * and a provider answer after the timeout (voided, never captured).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consumerGroups, topics } from '../../shared/contracts/topics.js';
import { dlqTopicName } from '../../shared/kafka/topology.js';
import { searchMail } from '../support/mail.js';
import { publishEvents } from '../support/publish.js';
import type { Pool } from '../../shared/db.js';
import { cancelOrder, getHistory, getOrder, postOrder, testPool, type OrderView } from '../support/order-api.js';
import { chargesOf, control, operationsOf, startPayments, startProvider, type PaymentProvider } from '../support/payments.js';
import { ServiceFleet, type RunningService } from '../support/services.js';
import { eventually, readTopic } from '../support/stack.js';

const fleet = new ServiceFleet();
let provider: PaymentProvider;
let order: RunningService;
let pool: Pool;
const domain = `pay-${randomUUID().slice(0, 8)}.example`;
/** Short step timeouts: each authorization attempt waits 3 s, two attempts. */
const AUTHORIZATION_TIMEOUT_MS = 3000;
const FINAL = new Set(['CONFIRMED', 'REJECTED', 'CANCELLED']);

async function place(name: string, extra: { cardToken?: string; quantity?: number; sku?: string } = {}): Promise<string> {
  const response = await postOrder(order.url, {
    customerId: `customer-${name}`,
    email: `${name}@${domain}`,
    currency: 'EUR',
    items: [{ sku: extra.sku ?? 'SKU-029', quantity: extra.quantity ?? 1 }],
    ...(extra.cardToken ? { cardToken: extra.cardToken } : {}),
  });
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  return response.body.orderId;
}

function until(id: string, what: string, done: (order: OrderView) => boolean, timeoutMs = 40_000): Promise<OrderView> {
  return eventually(async () => {
    const current = (await getOrder(order.url, id)).body;
    return done(current) ? current : undefined;
  }, `order ${id}: ${what}`, timeoutMs);
}

const final = (id: string) => until(id, 'a final state', (o) => FINAL.has(o.status));

async function path(id: string): Promise<string[]> {
  const { body } = await getHistory(order.url, id);
  return body.transitions.filter((t) => t.from !== t.to).map((t) => t.to);
}

beforeAll(async () => {
  pool = testPool();
  // Stock for this file's orders (other files set their own): plenty of SKU-029, ten of SKU-028.
  await pool.query("UPDATE stock SET available = CASE sku WHEN 'SKU-029' THEN 10000 ELSE 10 END WHERE sku IN ('SKU-028', 'SKU-029')");
  provider = await startProvider();
  [order] = await Promise.all([
    fleet.start('order', {
      PAYMENT_AUTHORIZATION_TIMEOUT_MS: String(AUTHORIZATION_TIMEOUT_MS),
      PAYMENT_AUTHORIZATION_ATTEMPTS: '2',
      PAYMENT_STEP_TIMEOUT_MS: '3000',
      ORDER_RESERVATION_TIMEOUT_MS: '20000',
    }),
    fleet.start('inventory'),
    fleet.start('scheduler'),
    fleet.start('email'),
    startPayments(fleet, provider),
  ]);
});

beforeEach(async () => {
  await control(provider, { latencyMs: 0, outage: false, hang: false, declineCardTokens: [], declineAmountsOverCents: null });
});

afterAll(async () => {
  await fleet.stopAll();
  await provider?.close();
  await pool?.end();
});

describe('order workflow with payment', () => {
  it('approved: PENDING → PAYMENT_AUTHORIZED → RESERVED → CONFIRMED, one authorization and one capture, the history says who and which event', async () => {
    const id = await place('approved');
    const done = await final(id);
    expect(done.status).toBe('CONFIRMED');
    expect(done.payment).toMatchObject({ status: 'captured', amountCents: done.totalCents });
    expect(await path(id)).toEqual(['PENDING', 'PAYMENT_AUTHORIZED', 'RESERVED', 'CONFIRMED']);
    const [charge, ...others] = await chargesOf(provider, id);
    expect(others).toEqual([]);
    expect(charge).toMatchObject({ status: 'captured', amountCents: done.totalCents, currency: 'EUR' });
    expect(charge!.operations.map((o) => o.type)).toEqual(['authorize', 'capture']);
    expect(charge!.operations.map((o) => o.idempotencyKey)).toEqual([`order-${id}-authorize`, `order-${id}-capture`]);

    const { body } = await getHistory(order.url, id);
    const confirmed = body.transitions.find((t) => t.to === 'CONFIRMED')!;
    expect(confirmed).toMatchObject({ from: 'RESERVED', trigger: 'payment.captured', topic: 'payment.outcomes' });
    expect(confirmed.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(confirmed.by).toMatch(/^payments-test-/);
    expect(body.transitions[0]).toMatchObject({ from: null, to: 'PENDING', trigger: 'created', by: 'order-api', effects: ['authorize'] });
  });

  it('declined: REJECTED payment_declined, nothing held, a "payment failed" mail', async () => {
    const id = await place('declined', { cardToken: 'tok_chargeDeclined' });
    const done = await final(id);
    expect(done).toMatchObject({ status: 'REJECTED', statusReason: 'payment_declined', payment: { status: 'declined' } });
    expect(await path(id)).toEqual(['PENDING', 'REJECTED']);
    expect(await chargesOf(provider, id)).toEqual([]);
    const mails = await eventually(async () => {
      const found = await searchMail(`to:"declined@${domain}" subject:"Payment failed for order ${id}"`);
      return found.length > 0 ? found : undefined;
    }, 'the payment failed mail');
    expect(mails).toHaveLength(1);
  });

  it('stock short after authorization: the authorization is voided (compensation), nothing captured, REJECTED', async () => {
    const id = await place('short', { sku: 'SKU-028', quantity: 11 });
    const done = await final(id);
    expect(done.status).toBe('REJECTED');
    expect(done.statusReason).toMatch(/insufficient stock/);
    expect(await path(id)).toEqual(['PENDING', 'PAYMENT_AUTHORIZED', 'VOIDING', 'REJECTED']);
    expect(await operationsOf(provider, id)).toEqual({ authorize: 1, capture: 0, void: 1, refund: 0 });
    expect((await chargesOf(provider, id))[0]!.status).toBe('voided');
  });

  it('cancel after confirm: stock released, then the capture refunded, CANCELLED', async () => {
    const id = await place('cancel');
    expect((await final(id)).status).toBe('CONFIRMED');
    const cancel = await cancelOrder(order.url, id);
    expect(cancel.status).toBe(202);
    const done = await final(id);
    expect(done).toMatchObject({ status: 'CANCELLED', payment: { status: 'refunded' } });
    expect(done.steps.compensation?.outcome).toBe('released');
    expect(await path(id)).toEqual(['PENDING', 'PAYMENT_AUTHORIZED', 'RESERVED', 'CONFIRMED', 'CANCELLING', 'REFUNDING', 'CANCELLED']);
    expect(await operationsOf(provider, id)).toEqual({ authorize: 1, capture: 1, void: 0, refund: 1 });
    expect((await cancelOrder(order.url, id)).status).toBe(200);
  });

  it('provider outage during authorization: retried, timed out → REJECTED payment_timeout; an authorization that lands later is voided', async () => {
    await control(provider, { outage: true });
    const id = await place('outage');
    const done = await final(id);
    expect(done).toMatchObject({ status: 'REJECTED', statusReason: 'payment_timeout' });
    const { body } = await getHistory(order.url, id);
    // The step was sent again once (attempt 2) before its last timeout rejected the order.
    expect(body.transitions.map((t) => [t.from, t.to, t.trigger, t.attempt])).toEqual([
      [null, 'PENDING', 'created', 1],
      ['PENDING', 'PENDING', 'timeout.retry', 2],
      ['PENDING', 'REJECTED', 'timeout.exhausted', 1],
    ]);
    expect(await chargesOf(provider, id)).toEqual([]);
    // The provider comes back: the payments service's held authorization goes through, late, and is voided.
    await control(provider, { outage: false });
    await eventually(async () => ((await operationsOf(provider, id)).void === 1 ? true : undefined), 'the late authorization voided');
    expect(await operationsOf(provider, id)).toEqual({ authorize: 1, capture: 0, void: 1, refund: 0 });
    expect((await getOrder(order.url, id)).body.status).toBe('REJECTED');
  });

  it('a provider answer after the timeout: compensated (voided), never captured, never twice', async () => {
    // The provider authorizes at once but answers after both attempts have timed out.
    await control(provider, { latencyMs: 2 * AUTHORIZATION_TIMEOUT_MS + 1500 });
    const id = await place('late');
    const done = await final(id);
    expect(done).toMatchObject({ status: 'REJECTED', statusReason: 'payment_timeout' });
    await control(provider, { latencyMs: 0 });
    await eventually(async () => ((await chargesOf(provider, id))[0]?.status === 'voided' ? true : undefined), 'the late authorization voided', 40_000);
    const { body } = await getHistory(order.url, id);
    expect(body.transitions.some((t) => t.from === 'REJECTED' && t.trigger === 'payment.authorized' && t.effects.includes('void'))).toBe(true);
    // Give any repeated answer time to arrive: still one authorization, one void, no capture.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await operationsOf(provider, id)).toEqual({ authorize: 1, capture: 0, void: 1, refund: 0 });
    expect((await getOrder(order.url, id)).body.status).toBe('REJECTED');
  });

  it('an event the table does not expect in the state goes to the DLQ, naming the state, and moves nothing', async () => {
    const id = await place('unexpected');
    expect((await final(id)).status).toBe('CONFIRMED');
    await publishEvents(topics.paymentOutcomes, [
      { eventId: randomUUID(), orderId: id, causationId: randomUUID(), action: 'REFUND', outcome: 'REFUNDED', chargeId: null, amountCents: 1, reason: null, handledBy: 'test', occurredAt: Date.now() },
    ]);
    const dead = await readTopic(dlqTopicName(topics.paymentOutcomes, consumerGroups.orderService.groupId), (seen) =>
      seen.some((m) => m.key?.toString() === id),
    );
    const letter = dead.find((m) => m.key?.toString() === id)!;
    expect(letter.headers?.['failure-error-message']?.toString()).toContain('payment.refunded is not expected in state CONFIRMED');
    expect((await getOrder(order.url, id)).body.status).toBe('CONFIRMED');
  });
});
