import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../../shared/db.js';
import { topics } from '../../../shared/contracts/topics.js';
import { topicEnd } from '../../support/kafka-groups.js';
import { cancelOrder, getOrder, inParallel, postOrder, postRaw, testPool, type OrderRequest } from '../../support/order-api.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { readTopic, testSerde } from '../../support/stack.js';
import { testClientId } from '../../support/api-client.js';

const fleet = new ServiceFleet();
let order: RunningService;
let pool: Pool;

function validOrder(customerId: string): OrderRequest {
  return {
    customerId,
    email: `${customerId}@order-api.example`,
    currency: 'EUR',
    items: [
      { sku: 'SKU-001', quantity: 2 },
      { sku: 'SKU-002', quantity: 1 },
    ],
  };
}

beforeAll(async () => {
  pool = testPool();
  // A one-minute safety-net poll: any publication within the test comes from the wake-up, not the poll.
  order = await fleet.start('order', { OUTBOX_POLL_MS: '60000', BODY_LIMIT_BYTES: '4096' });
});

afterAll(async () => {
  await fleet.stopAll();
  await pool?.end();
});

describe('order API', () => {
  it('accepts an order with 202, a Location and prices from the catalogue, and publishes it within milliseconds', async () => {
    const customerId = `ok-${randomUUID()}`;
    const response = await postOrder(order.url, validOrder(customerId));
    expect(response.status).toBe(202);
    expect(response.body.status).toBe('PENDING');
    const { orderId } = response.body;
    expect(response.headers.get('location')).toBe(`/orders/${orderId}`);

    const view = await getOrder(order.url, orderId);
    expect(view.status).toBe(200);
    expect(view.body.items).toEqual([
      { sku: 'SKU-001', quantity: 2, unitPriceCents: expect.any(Number) },
      { sku: 'SKU-002', quantity: 1, unitPriceCents: expect.any(Number) },
    ]);
    const prices = await pool.query<{ sku: string; unit_price_cents: string }>(
      "SELECT sku, unit_price_cents FROM catalogue_prices WHERE currency = 'EUR' AND sku IN ('SKU-001', 'SKU-002') ORDER BY sku",
    );
    const [p1, p2] = prices.rows.map((row) => Number(row.unit_price_cents));
    expect(view.body.totalCents).toBe(2 * p1! + p2!);

    const messages = await readTopic(topics.orderCreated.name, (seen) => seen.some((m) => m.key?.toString() === orderId));
    const message = messages.find((m) => m.key?.toString() === orderId)!;
    expect(message.headers?.['event-id']?.toString()).toMatch(/^[0-9a-f-]{36}$/);
    expect(message.headers?.['correlation-id']?.toString()).toBeTruthy();
    // The client that placed it: its analytics facts, and so its exports, are its own.
    expect((await testSerde().decode(topics.orderCreated, message.value)).clientId).toBe(testClientId);
    const { rows } = await pool.query<{ delay_ms: number }>(
      "SELECT (extract(epoch FROM sent_at - created_at) * 1000)::float8 AS delay_ms FROM order_outbox WHERE message_key = $1",
      [orderId],
    );
    // The poll is a minute: only the in-process wake-up can publish this fast.
    expect(rows[0]!.delay_ms).toBeLessThan(1000);
  });

  it('answers every kind of bad request with its status and the field, and stores and publishes nothing', async () => {
    const customerId = `bad-${randomUUID()}`;
    const good = validOrder(customerId);
    const before = await topicEnd(topics.orderCreated.name);
    const json = { 'Content-Type': 'application/json' };
    const cases: Array<{ name: string; send: () => Promise<{ status: number; body: Record<string, unknown> }>; status: number; field: string }> = [
      { name: 'malformed JSON', send: () => postRaw(order.url, '{"customerId": "x",', json), status: 400, field: 'body' },
      { name: 'empty body', send: () => postRaw(order.url, undefined, json), status: 400, field: 'body' },
      { name: 'not an object', send: () => postOrder(order.url, [good]), status: 400, field: 'body' },
      { name: 'missing email', send: () => postOrder(order.url, { ...good, email: undefined }), status: 400, field: 'email' },
      { name: 'missing items', send: () => postOrder(order.url, { ...good, items: undefined }), status: 400, field: 'items' },
      { name: 'empty items', send: () => postOrder(order.url, { ...good, items: [] }), status: 400, field: 'items' },
      { name: 'invalid email', send: () => postOrder(order.url, { ...good, email: 'not-an-address' }), status: 400, field: 'email' },
      { name: 'lower-case currency', send: () => postOrder(order.url, { ...good, currency: 'eur' }), status: 400, field: 'currency' },
      {
        name: 'quantity as a string',
        send: () => postOrder(order.url, { ...good, items: [{ sku: 'SKU-001', quantity: '2' }] }),
        status: 400,
        field: 'items[0].quantity',
      },
      {
        name: 'fractional quantity',
        send: () => postOrder(order.url, { ...good, items: [{ sku: 'SKU-001', quantity: 1.5 }] }),
        status: 400,
        field: 'items[0].quantity',
      },
      { name: 'missing sku', send: () => postOrder(order.url, { ...good, items: [{ quantity: 1 }] }), status: 400, field: 'items[0].sku' },
      { name: 'unknown field', send: () => postOrder(order.url, { ...good, priceCents: 1 }), status: 400, field: 'priceCents' },
      { name: 'text/plain', send: () => postRaw(order.url, JSON.stringify(good), { 'Content-Type': 'text/plain' }), status: 415, field: 'Content-Type' },
      { name: 'no content type', send: () => postRaw(order.url, JSON.stringify(good), {}), status: 415, field: 'Content-Type' },
      { name: 'form encoded', send: () => postRaw(order.url, 'customerId=x', { 'Content-Type': 'application/x-www-form-urlencoded' }), status: 415, field: 'Content-Type' },
      { name: 'over the body limit', send: () => postOrder(order.url, { ...good, customerId: 'x'.repeat(5000) }), status: 413, field: 'body' },
      {
        name: 'unknown SKU',
        send: () => postOrder(order.url, { ...good, items: [{ sku: 'SKU-001', quantity: 1 }, { sku: 'SKU-999', quantity: 1 }] }),
        status: 422,
        field: 'items[1].sku',
      },
      { name: 'quantity 0', send: () => postOrder(order.url, { ...good, items: [{ sku: 'SKU-001', quantity: 0 }] }), status: 422, field: 'items[0].quantity' },
      {
        name: 'negative quantity',
        send: () => postOrder(order.url, { ...good, items: [{ sku: 'SKU-002', quantity: -3 }] }),
        status: 422,
        field: 'items[0].quantity',
      },
      { name: 'currency not sold in', send: () => postOrder(order.url, { ...good, currency: 'JPY' }), status: 422, field: 'currency' },
      {
        name: 'empty Idempotency-Key',
        send: () => postOrder(order.url, good, { 'Idempotency-Key': '' }),
        status: 400,
        field: 'Idempotency-Key',
      },
    ];
    const answers = [];
    for (const c of cases) {
      const { status, body } = await c.send();
      answers.push({ name: c.name, status, field: body.field, hasMessage: typeof body.message === 'string' && body.message.length > 0 });
    }
    expect(answers).toEqual(cases.map((c) => ({ name: c.name, status: c.status, field: c.field, hasMessage: true })));

    // Give a (wrongly) written event time to be relayed before checking that none was.
    await sleep(1500);
    expect(await topicEnd(topics.orderCreated.name)).toBe(before);
    const stored = await pool.query('SELECT 1 FROM orders WHERE customer_id = $1', [customerId]);
    expect(stored.rowCount).toBe(0);
  });

  it('an Idempotency-Key returns the first answer to retries, also concurrent ones, and publishes one event', async () => {
    const customerId = `idem-${randomUUID()}`;
    const key = randomUUID();
    const body = validOrder(customerId);
    const first = await postOrder(order.url, body, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    const retries = await inParallel([1, 2, 3, 4, 5], 5, () => postOrder(order.url, body, { 'Idempotency-Key': key }));
    for (const retry of retries) {
      expect(retry.status).toBe(202);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('location')).toBe(first.headers.get('location'));
    }
    const otherBody = await postOrder(order.url, { ...body, customerId: `${customerId}-other` }, { 'Idempotency-Key': key });
    expect(otherBody.status).toBe(422);
    expect(otherBody.body.field).toBe('Idempotency-Key');

    // Two requests racing with a fresh key: both get the same order.
    const raceKey = randomUUID();
    const race = await Promise.all([1, 2].map(() => postOrder(order.url, body, { 'Idempotency-Key': raceKey })));
    expect(race[0]!.body.orderId).toBe(race[1]!.body.orderId);

    const stored = await pool.query<{ id: string }>('SELECT id FROM orders WHERE customer_id = $1', [customerId]);
    expect(stored.rows.map((row) => row.id).sort()).toEqual([first.body.orderId, race[0]!.body.orderId].sort());
    await sleep(1000);
    const messages = await readTopic(topics.orderCreated.name, (seen) =>
      [first.body.orderId, race[0]!.body.orderId].every((id) => seen.some((m) => m.key?.toString() === id)),
    );
    expect(messages.filter((m) => m.key?.toString() === first.body.orderId)).toHaveLength(1);
    expect(messages.filter((m) => m.key?.toString() === race[0]!.body.orderId)).toHaveLength(1);
  });

  it('GET and cancel answer 400 for a malformed id, 404 for an unknown one and 409 for an order not confirmed yet', async () => {
    expect((await getOrder(order.url, 'not-a-uuid')).status).toBe(400);
    expect((await getOrder(order.url, randomUUID())).status).toBe(404);
    expect((await cancelOrder(order.url, randomUUID())).status).toBe(404);
    // No inventory runs in this file: the order stays PENDING.
    const { body } = await postOrder(order.url, validOrder(`cancel-${randomUUID()}`));
    const cancel = await cancelOrder(order.url, body.orderId);
    expect(cancel.status).toBe(409);
    expect((await getOrder(order.url, body.orderId)).body.status).toBe('PENDING');
  });

  it('stops cleanly on SIGTERM', async () => {
    const exit = await fleet.stop(order);
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
