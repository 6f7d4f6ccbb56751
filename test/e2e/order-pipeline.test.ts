/**
 * The whole fan-out as real processes against the real stack: the order API, three inventory
 * instances, email and analytics, each a consumer group of its own on order.created.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../shared/db.js';
import { consumerGroups, topics } from '../../shared/contracts/topics.js';
import type { AnalyticsEvent } from '../../shared/contracts/schemas.js';
import { testClientId } from '../support/api-client.js';
import { groupAssignment, groupLag } from '../support/kafka-groups.js';
import { searchMail } from '../support/mail.js';
import { cancelOrder, getOrder, inParallel, postOrder, testPool, type OrderRequest } from '../support/order-api.js';
import { makeOrders, SKUS } from '../support/order-mix.js';
import { freePort } from '../support/processes.js';
import { startPayments, startProvider, type PaymentProvider } from '../support/payments.js';
import { ServiceFleet, type RunningService } from '../support/services.js';
import { eventually, readTopic, testSerde } from '../support/stack.js';

const fleet = new ServiceFleet();
let pool: Pool;
let order: RunningService;
let inventories: RunningService[];

/** Stock of these runs out during the 300 orders; the others always suffice. */
const SCARCE = SKUS.slice(0, 6);
/** Inventory instances give up a dead member's partitions after this (SIGKILL test). */
const failover = { KAFKA_SESSION_TIMEOUT_MS: '6000' };

async function placeAll(requests: OrderRequest[], concurrency: number): Promise<string[]> {
  const responses = await inParallel(requests, concurrency, (request) => postOrder(order.url, request));
  expect(responses.map((r) => r.status)).toEqual(requests.map(() => 202));
  return responses.map((r) => r.body.orderId);
}

async function stockLevels(): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ sku: string; available: number }>('SELECT sku, available FROM stock WHERE sku = ANY($1::text[])', [SKUS]);
  return new Map(rows.map((row) => [row.sku, row.available]));
}

interface Outcome {
  id: string;
  status: string;
  lines: Array<{ sku: string; quantity: number }>;
  reserved: Array<{ sku: string; quantity: number }>;
  steps: Record<string, { outcome: string; detail: { shortages?: Array<{ sku: string; requested: number }> } | null; handled_by: string }>;
}

/** Every order final (CONFIRMED or REJECTED) and all three downstream steps reported. */
async function waitForOutcomes(ids: string[], timeoutMs: number): Promise<Outcome[]> {
  return eventually(
    async () => {
      const { rows } = await pool.query<Outcome>(
        `SELECT o.id::text, o.status,
                (SELECT json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity)) FROM order_lines l WHERE l.order_id = o.id) AS lines,
                COALESCE((SELECT json_agg(json_build_object('sku', r.sku, 'quantity', r.quantity))
                            FROM stock_reservations r WHERE r.order_id = o.id::text), '[]') AS reserved,
                COALESCE((SELECT json_object_agg(s.step, json_build_object('outcome', s.outcome, 'detail', s.detail, 'handled_by', s.handled_by))
                            FROM order_steps s WHERE s.order_id = o.id), '{}') AS steps
           FROM orders o WHERE o.id = ANY($1::uuid[])`,
        [ids],
      );
      const done = rows.filter(
        (row) => ['CONFIRMED', 'REJECTED'].includes(row.status) && ['inventory', 'email', 'analytics'].every((step) => step in row.steps),
      );
      return done.length === ids.length ? rows : undefined;
    },
    `${ids.length} orders to finish`,
    timeoutMs,
  );
}

/** What the stock says must agree with what the orders say: no overselling, nothing lost, nothing doubled. */
function expectConsistent(outcomes: Outcome[], before: Map<string, number>, after: Map<string, number>): void {
  const taken = new Map<string, number>();
  for (const outcome of outcomes) {
    expect(['CONFIRMED', 'REJECTED']).toContain(outcome.status);
    const byLine = [...outcome.lines].sort((a, b) => a.sku.localeCompare(b.sku));
    const held = [...outcome.reserved].sort((a, b) => a.sku.localeCompare(b.sku));
    if (outcome.status === 'CONFIRMED') {
      // All lines reserved exactly once.
      expect(held).toEqual(byLine);
      expect(outcome.steps.inventory?.outcome).toBe('reserved');
      for (const { sku, quantity } of held) taken.set(sku, (taken.get(sku) ?? 0) + quantity);
    } else {
      // All or nothing: a rejected order holds no stock at all, and it was short of something.
      expect(held).toEqual([]);
      expect(outcome.steps.inventory?.outcome).toBe('rejected');
      const shortages = outcome.steps.inventory?.detail?.shortages ?? [];
      expect(shortages.length).toBeGreaterThan(0);
      // Stock only went down during the run, so what was short then is short now.
      for (const shortage of shortages) expect(after.get(shortage.sku)!).toBeLessThan(shortage.requested);
    }
  }
  for (const sku of SKUS) {
    expect(after.get(sku)!).toBeGreaterThanOrEqual(0);
    expect({ sku, available: after.get(sku) }).toEqual({ sku, available: before.get(sku)! - (taken.get(sku) ?? 0) });
  }
}

async function expectPartitionsSplit(members: number): Promise<Map<string, number[]>> {
  return eventually(
    async () => {
      const assignment = await groupAssignment(consumerGroups.inventory.groupId, topics.inventoryReserveRequested.name);
      const partitions = [...assignment.values()].flat().sort();
      return assignment.size === members && partitions.join() === '0,1,2,3,4,5' ? assignment : undefined;
    },
    `${members} inventory members sharing the six partitions`,
    60_000,
  );
}

/** Each group with the topic whose lag says it caught up: inventory reserves on the workflow's request, after the payment. */
const lagged = [
  [consumerGroups.inventory, topics.inventoryReserveRequested],
  [consumerGroups.email, topics.orderCreated],
  [consumerGroups.analytics, topics.orderCreated],
] as const;
let provider: PaymentProvider;

beforeAll(async () => {
  pool = testPool();
  provider = await startProvider();
  [order, , , , ...inventories] = await Promise.all([
    fleet.start('order'),
    startPayments(fleet, provider),
    fleet.start('email'),
    fleet.start('analytics'),
    fleet.start('inventory', failover),
    fleet.start('inventory', failover),
    fleet.start('inventory', failover),
  ]);
  // Events left on order.created by earlier runs or other test files are handled first; only then
  // is the stock reset, so nothing but this file's orders moves it.
  for (const [group, topic] of lagged) {
    await eventually(async () => ((await groupLag(group.groupId, topic.name)) === 0 ? true : undefined), `${group.groupId} caught up`, 90_000);
  }
  await pool.query('UPDATE stock SET available = CASE WHEN sku = ANY($2::text[]) THEN 8 ELSE 500 END WHERE sku = ANY($1::text[])', [
    SKUS,
    SCARCE,
  ]);
}, 180_000);

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(fleet.tails(15));
});

afterAll(async () => {
  await fleet.stopAll();
  await provider?.close();
  await pool?.end();
});

describe('order pipeline end to end', () => {
  it('three inventory instances split the six partitions of inventory.reserve-requested', async () => {
    const assignment = await expectPartitionsSplit(3);
    expect([...assignment.values()].map((partitions) => partitions.length)).toEqual([2, 2, 2]);
  });

  it('300 orders over 30 SKUs: each CONFIRMED or REJECTED as the stock allows, one mail and one set of analytics events each', async () => {
    const domain = `e2e-${randomUUID().slice(0, 8)}.example`;
    const requests = makeOrders(300, domain, 42);
    const before = await stockLevels();
    const ids = await placeAll(requests, 25);

    const outcomes = await waitForOutcomes(ids, 120_000);
    const after = await stockLevels();
    expectConsistent(outcomes, before, after);
    const confirmed = outcomes.filter((o) => o.status === 'CONFIRMED').length;
    expect(confirmed).toBeGreaterThan(0);
    expect(confirmed).toBeLessThan(300); // the scarce SKUs ran out
    for (const sku of SCARCE) expect(after.get(sku)).toBeLessThan(3);

    // Exactly one mail per order.
    const mails = await searchMail(`to:"@${domain}"`);
    expect(mails).toHaveLength(300);
    expect(new Set(mails.map((m) => m.To[0]?.Address)).size).toBe(300);
    expect(new Set(mails.map((m) => m.Subject))).toEqual(new Set(ids.map((id) => `Order ${id} received`)));

    // One set of analytics events per order: ORDER_PLACED, LINE_ITEM per line, REVENUE.
    const wanted = new Map(ids.map((id, i) => [id, requests[i]!.items.length + 2]));
    const messages = await readTopic(topics.analyticsEvents.name, (seen) => {
      const counts = new Map<string, number>();
      for (const m of seen) {
        const key = m.key?.toString() ?? '';
        if (wanted.has(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return [...wanted].every(([id, n]) => (counts.get(id) ?? 0) >= n);
    }, 60_000);
    const serde = testSerde();
    const facts = await Promise.all(
      messages.filter((m) => wanted.has(m.key?.toString() ?? '')).map((m) => serde.decode(topics.analyticsEvents, m.value)),
    );
    const byOrder = new Map<string, AnalyticsEvent[]>();
    for (const fact of facts) byOrder.set(fact.orderId, [...(byOrder.get(fact.orderId) ?? []), fact]);
    for (const [id, n] of wanted) {
      const events = byOrder.get(id) ?? [];
      expect(events.filter((e) => e.eventType === 'ORDER_PLACED')).toHaveLength(1);
      expect(events.filter((e) => e.eventType === 'REVENUE')).toHaveLength(1);
      expect(events).toHaveLength(n);
    }

    // Each group consumed every event.
    for (const [group, topic] of lagged) {
      await eventually(async () => ((await groupLag(group.groupId, topic.name)) === 0 ? true : undefined), `${group.groupId} lag 0`);
    }

    // The API shows the status and every step.
    const view = await getOrder(order.url, ids[0]!);
    expect(['CONFIRMED', 'REJECTED']).toContain(view.body.status);
    expect(Object.keys(view.body.steps).sort()).toEqual(['analytics', 'email', 'inventory', 'payment']);
  }, 170_000);

  it('SIGKILL of one inventory instance mid-run: the others take over, nothing lost, nothing reserved twice', async () => {
    await expectPartitionsSplit(3);
    const domain = `e2e-kill-${randomUUID().slice(0, 8)}.example`;
    const requests = makeOrders(150, domain, 7);
    const before = await stockLevels();
    const victim = inventories[0]!;

    // Half the orders before the kill, half after it: those of the victim's partitions must be
    // taken over by the survivors.
    const placing = placeAll(requests.slice(0, 75), 10);
    // Kill once the victim has visibly decided some of this run's orders.
    await eventually(
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM order_steps s JOIN orders o ON o.id = s.order_id
            WHERE s.step = 'inventory' AND s.handled_by = $1 AND o.email LIKE $2`,
          [victim.instance, `%@${domain}`],
        );
        return rows[0]!.n >= 5 ? true : undefined;
      },
      'the victim handling orders',
      60_000,
    );
    await fleet.kill(victim);
    const ids = [...(await placing), ...(await placeAll(requests.slice(75), 10))];

    const outcomes = await waitForOutcomes(ids, 120_000);
    expectConsistent(outcomes, before, await stockLevels());
    const survivors = new Set(inventories.slice(1).map((s) => s.instance));
    const handledBy = new Set(outcomes.map((o) => o.steps.inventory!.handled_by));
    for (const survivor of survivors) expect(handledBy).toContain(survivor);

    // Handled once per group: one decision per order in the inventory's outbox, one mail per order.
    const decisions = await pool.query<{ message_key: string; n: number }>(
      `SELECT message_key, count(*)::int AS n FROM inventory_outbox
        WHERE message_key = ANY($1::text[]) AND topic <> $2 GROUP BY message_key`,
      [ids, topics.inventoryReleased.name],
    );
    expect(decisions.rows).toHaveLength(150);
    expect(decisions.rows.every((row) => row.n === 1)).toBe(true);
    expect(await searchMail(`to:"@${domain}"`)).toHaveLength(150);
    await expectPartitionsSplit(2);
  }, 170_000);

  it('cancelling a confirmed order releases its stock (the compensating step) and ends CANCELLED', async () => {
    const { body } = await postOrder(order.url, {
      customerId: 'canceller',
      email: `canceller@e2e-${randomUUID().slice(0, 8)}.example`,
      currency: 'EUR',
      items: [{ sku: 'SKU-030', quantity: 2 }],
    });
    await eventually(async () => ((await getOrder(order.url, body.orderId)).body.status === 'CONFIRMED' ? true : undefined), 'CONFIRMED');
    const reserved = (await stockLevels()).get('SKU-030')!;
    const cancel = await cancelOrder(order.url, body.orderId);
    expect(cancel.status).toBe(202);
    expect(cancel.body.status).toBe('CANCELLING');
    const view = await eventually(async () => {
      const current = await getOrder(order.url, body.orderId);
      return current.body.status === 'CANCELLED' ? current.body : undefined;
    }, 'CANCELLED');
    expect(view.steps.compensation?.outcome).toBe('released');
    expect((await stockLevels()).get('SKU-030')).toBe(reserved + 2);
    expect((await cancelOrder(order.url, body.orderId)).body.status).toBe('CANCELLED');
    // Each status its client hears about was announced once, in the transaction that moved the order.
    const announced = await pool.query<{ status: string; previous: string; sent: boolean; client: string }>(
      `SELECT payload->>'status' AS status, payload->>'previousStatus' AS previous, sent_at IS NOT NULL AS sent,
              payload->>'clientId' AS client
         FROM order_outbox WHERE topic = $1 AND message_key = $2 ORDER BY id`,
      [topics.orderStatusChanged.name, body.orderId],
    );
    expect(announced.rows.map((row) => [row.previous, row.status])).toEqual([
      ['RESERVED', 'CONFIRMED'],
      ['REFUNDING', 'CANCELLED'],
    ]);
    // Naming the client that placed it: only its webhook endpoints hear of it.
    expect(announced.rows.map((row) => row.client)).toEqual([testClientId, testClientId]);
  });

  it('an order committed while the broker is unreachable is published after a crash and restart, once', async () => {
    // Only the instance under test may relay the row: the healthy one stops first.
    expect(await fleet.stop(order)).toEqual({ code: 0, signal: null });
    const closedPort = await freePort();
    const cutOff = await fleet.start('order', { KAFKA_BROKERS: `127.0.0.1:${closedPort}` }, { wait: 'healthz' });
    const email = `restart@e2e-${randomUUID().slice(0, 8)}.example`;
    const placed = await postOrder(cutOff.url, { customerId: 'restart', email, currency: 'EUR', items: [{ sku: 'SKU-029', quantity: 1 }] });
    expect(placed.status).toBe(202);
    const { orderId } = placed.body;
    await sleep(500);
    const unsent = await pool.query<{ topic: string }>('SELECT topic FROM order_outbox WHERE message_key = $1 AND sent_at IS NULL ORDER BY id', [orderId]);
    expect(unsent.rows.map((row) => row.topic)).toEqual([topics.orderCreated.name, topics.paymentCommands.name]);
    await fleet.kill(cutOff);

    const restarted = await fleet.start('order');
    const view = await eventually(async () => {
      const current = await getOrder(restarted.url, orderId);
      return current.body.status === 'CONFIRMED' && current.body.steps.email ? current.body : undefined;
    }, 'the order confirmed after the restart', 60_000);
    expect(view.steps.analytics).toBeDefined();
    await sleep(1000);
    const messages = await readTopic(topics.orderCreated.name, (seen) => seen.some((m) => m.key?.toString() === orderId));
    expect(messages.filter((m) => m.key?.toString() === orderId)).toHaveLength(1);
    expect(await searchMail(`to:"${email}"`)).toHaveLength(1);
  }, 120_000);
});
