import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../../shared/db.js';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import { dlqTopicName } from '../../../shared/kafka/topology.js';
import type { InventoryReserveRequested } from '../../../shared/contracts/schemas.js';
import { testPool } from '../../support/order-api.js';
import { publishEvents } from '../../support/publish.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually, readTopic } from '../../support/stack.js';

const fleet = new ServiceFleet();
let inventory: RunningService;
let pool: Pool;
const run = randomUUID().slice(0, 8);
const sku = (name: string) => `TEST-${run}-${name}`;

/** The order workflow's reservation request (sent once the payment is authorized). */
function order(items: Array<[string, number]>): InventoryReserveRequested {
  return {
    eventId: randomUUID(),
    orderId: randomUUID(),
    items: items.map(([s, quantity]) => ({ sku: s, quantity, unitPriceCents: 100 })),
    requestedAt: Date.now(),
  };
}

async function available(name: string): Promise<number> {
  const { rows } = await pool.query<{ available: number }>('SELECT available FROM stock WHERE sku = $1', [sku(name)]);
  return rows[0]!.available;
}

/** The inventory's answers for these orders (outbox rows): topic per order id. */
async function answers(orderIds: string[]): Promise<Map<string, string[]>> {
  const { rows } = await pool.query<{ message_key: string; topic: string }>(
    'SELECT message_key, topic FROM inventory_outbox WHERE message_key = ANY($1::text[])',
    [orderIds],
  );
  const result = new Map<string, string[]>();
  for (const row of rows) result.set(row.message_key, [...(result.get(row.message_key) ?? []), row.topic]);
  return result;
}

async function waitForAnswers(orderIds: string[], timeoutMs = 30_000): Promise<Map<string, string[]>> {
  return eventually(async () => {
    const found = await answers(orderIds);
    return found.size === orderIds.length ? found : undefined;
  }, `inventory answers for ${orderIds.length} orders`, timeoutMs);
}

beforeAll(async () => {
  pool = testPool();
  inventory = await fleet.start('inventory', { PARTITIONS_CONCURRENTLY: '3' });
  // Test-only SKUs (the service created the table), so nothing here touches the catalogue stock other tests count on.
  await pool.query(
    `INSERT INTO stock (sku, available) VALUES ($1, 10), ($2, 5), ($3, 100), ($4, 3)`,
    [sku('A'), sku('C'), sku('D'), sku('E')],
  );
});

afterAll(async () => {
  await fleet.stopAll();
  await pool?.end();
});

describe('inventory service', () => {
  it('reserves once even when the event is delivered twice', async () => {
    const o = order([[sku('A'), 4]]);
    await publishEvents(topics.inventoryReserveRequested, [o, o]);
    const found = await waitForAnswers([o.orderId]);
    await sleep(1000); // room for a (wrong) second effect
    expect((await answers([o.orderId])).get(o.orderId)).toEqual([topics.inventoryReserved.name]);
    expect(found.get(o.orderId)).toEqual([topics.inventoryReserved.name]);
    expect(await available('A')).toBe(6);
    const claims = await pool.query('SELECT 1 FROM processed_events WHERE consumer_group = $1 AND event_id = $2', [
      consumerGroups.inventory.groupId,
      o.eventId,
    ]);
    expect(claims.rowCount).toBe(1);
  });

  it('never oversells: concurrent orders for a scarce SKU reserve all or nothing, in any line order', async () => {
    // 24 orders over all partitions, half listing the scarce SKU first: row locks in SKU order
    // keep them from deadlocking, and all-or-nothing means the rejected ones hold no D either.
    const orders = Array.from({ length: 24 }, (_, i) =>
      order(i % 2 === 0 ? [[sku('C'), 1], [sku('D'), 1]] : [[sku('D'), 1], [sku('C'), 1]]),
    );
    await publishEvents(topics.inventoryReserveRequested, orders);
    const found = await waitForAnswers(orders.map((o) => o.orderId), 60_000);
    const outcomes = [...found.values()].map((topicsOf) => topicsOf.join());
    expect(outcomes.filter((t) => t === topics.inventoryReserved.name)).toHaveLength(5);
    expect(outcomes.filter((t) => t === topics.inventoryRejected.name)).toHaveLength(19);
    expect(await available('C')).toBe(0);
    expect(await available('D')).toBe(95);
    const held = await pool.query<{ sku: string; total: string }>(
      'SELECT sku, sum(quantity) AS total FROM stock_reservations WHERE order_id = ANY($1::text[]) GROUP BY sku ORDER BY sku',
      [orders.map((o) => o.orderId)],
    );
    expect(held.rows.map((r) => [r.sku, Number(r.total)])).toEqual([
      [sku('C'), 5],
      [sku('D'), 5],
    ]);
  });

  it('sends an order with an unknown SKU to its DLQ and carries on', async () => {
    const bad = order([[`NOPE-${run}`, 1]]);
    const good = order([[sku('A'), 1]]);
    await publishEvents(topics.inventoryReserveRequested, [bad, good]);
    const dead = await readTopic(dlqTopicName(topics.inventoryReserveRequested, consumerGroups.inventory.groupId), (seen) =>
      seen.some((m) => m.key?.toString() === bad.orderId),
    );
    const letter = dead.find((m) => m.key?.toString() === bad.orderId)!;
    expect(letter.headers?.['failure-error-class']?.toString()).toBe('PermanentError');
    await waitForAnswers([good.orderId]);
    expect((await answers([bad.orderId])).size).toBe(0);
  });

  it('releases the stock of a cancelled order once (the compensating step)', async () => {
    const o = order([[sku('E'), 2]]);
    await publishEvents(topics.inventoryReserveRequested, [o]);
    await waitForAnswers([o.orderId]);
    expect(await available('E')).toBe(1);
    const cancel = { eventId: randomUUID(), orderId: o.orderId, reason: 'test', cancelledAt: Date.now() };
    await publishEvents(topics.orderCancelled, [cancel, cancel]);
    await eventually(async () => ((await answers([o.orderId])).get(o.orderId)?.length === 2 ? true : undefined), 'inventory.released');
    await sleep(1000);
    expect((await answers([o.orderId])).get(o.orderId)?.sort()).toEqual([topics.inventoryReleased.name, topics.inventoryReserved.name]);
    expect(await available('E')).toBe(3);
    const reservation = await pool.query<{ status: string }>('SELECT status FROM stock_reservations WHERE order_id = $1', [o.orderId]);
    expect(reservation.rows).toEqual([{ status: 'RELEASED' }]);
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await fleet.stop(inventory)).toEqual({ code: 0, signal: null });
  });
});
