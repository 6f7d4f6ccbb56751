/**
 * The order service, as a process, whose Kafka traffic goes through a proxy that loses the answer
 * to one of its relay's produce requests after the broker appended the batch (and to its retries,
 * until the round fails). Orders placed before, during and after must all end CONFIRMED (the
 * inventory service, straight to the broker, reserves them) within 30 s of the failed round, and
 * each order.created must be on the topic once; only the lost round's, which the relay sends
 * again, may be there twice (inventory deduplicates on the event id).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import type { Pool } from '../../../shared/db.js';
import { tallyEventIds } from '../../support/event-tally.js';
import { groupLag } from '../../support/kafka-groups.js';
import { partitionOf } from '../../support/kafka-partition.js';
import { KafkaProxy } from '../../support/kafka-proxy.js';
import { postOrder, testPool } from '../../support/order-api.js';
import { startPayments, startProvider, type PaymentProvider } from '../../support/payments.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually, testConfig } from '../../support/stack.js';

const fleet = new ServiceFleet();
const SKU = 'SKU-030';
const domain = `lost-ack-${randomUUID().slice(0, 8)}.example`;
let proxy: KafkaProxy;
let pool: Pool;
let order: RunningService;
let provider: PaymentProvider;

async function place(label: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await postOrder(order.url, { customerId: `${label}-${i}`, email: `${label}-${i}@${domain}`, currency: 'EUR', items: [{ sku: SKU, quantity: 1 }] });
    expect(response.status).toBe(202);
    ids.push(response.body.orderId);
  }
  return ids;
}

async function statuses(ids: string[]): Promise<Record<string, string>> {
  const { rows } = await pool.query<{ id: string; status: string }>('SELECT id::text, status FROM orders WHERE id = ANY($1::uuid[])', [ids]);
  return Object.fromEntries(rows.map((row) => [row.id, row.status]));
}

async function unsentRows(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM order_outbox WHERE sent_at IS NULL AND failed_at IS NULL');
  return rows[0]!.n;
}

async function allConfirmed(ids: string[], timeoutMs: number): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await statuses(ids);
    if (ids.every((id) => now[id] === 'CONFIRMED') || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The order.created event id of each order, from the service's outbox. */
async function eventIds(orderIds: string[]): Promise<string[]> {
  const { rows } = await pool.query<{ event_id: string }>(
    'SELECT event_id FROM order_outbox WHERE topic = $1 AND message_key = ANY($2) ORDER BY id',
    [topics.orderCreated.name, orderIds],
  );
  expect(rows).toHaveLength(orderIds.length);
  return rows.map((row) => row.event_id);
}

beforeAll(async () => {
  pool = testPool();
  proxy = await KafkaProxy.start(testConfig().kafkaBrokers[0]!);
  provider = await startProvider();
  [order] = await Promise.all([fleet.start('order', { KAFKA_BROKERS: proxy.address }), fleet.start('inventory'), startPayments(fleet, provider)]);
  // Events left by earlier files are handled first, so the 30 s below are this file's.
  for (const [group, topic] of [
    [consumerGroups.payments, topics.paymentCommands],
    [consumerGroups.inventory, topics.inventoryReserveRequested],
  ] as const) {
    await eventually(async () => ((await groupLag(group.groupId, topic.name)) === 0 ? true : undefined), `${group.groupId} caught up`, 90_000);
  }
  await pool.query('UPDATE stock SET available = GREATEST(available, 100) WHERE sku = $1', [SKU]);
}, 180_000);

afterEach((context) => {
  if (context.task.result?.state === 'fail') console.error(`${String(proxy)}\n${fleet.tails(15)}`);
});

afterAll(async () => {
  await fleet.stopAll();
  await provider?.close();
  await proxy?.close();
  await pool?.end();
});

describe('order service after a relay round whose answer was lost', () => {
  it('every order CONFIRMED within 30 s; each order.created on the topic once, the lost round’s at most twice', async () => {
    const warmUp = await place('warm-up', 2);
    expect(Object.values(await allConfirmed(warmUp, 60_000))).toEqual(['CONFIRMED', 'CONFIRMED']);
    await eventually(async () => ((await unsentRows()) === 0 ? true : undefined), 'the outbox drained', 30_000);

    const linesBefore = order.output.length;
    proxy.loseNextProduce();
    const lost = await place('lost', 1);
    await eventually(async () => (proxy.lostProduceResponses > 0 ? true : undefined), 'a produce answer lost', 30_000);
    // While the lost round is retrying: orders until one shares its partition, so that the next round
    // sends that partition a batch of another size than the lost one. (Alone, the lost order would
    // be sent again as the same batch, which the broker rightly takes for a retry.)
    const partitions = topics.orderCreated.partitions;
    const roundFailed = () => order.output.slice(linesBefore).some((line) => line.includes('outbox relay round failed'));
    const during: string[] = [];
    while (!during.some((id) => partitionOf(id, partitions) === partitionOf(lost[0]!, partitions))) {
      const burst = await Promise.all(Array.from({ length: partitions }, (_, i) => place(`during-${during.length + i}`, 1)));
      during.push(...burst.flat());
    }
    expect(roundFailed(), 'the lost round failed before an order shared its partition: the fault did not happen').toBe(false);
    await eventually(async () => (roundFailed() ? true : undefined), 'the lost round to fail', 90_000);
    const failedAt = Date.now();
    const after = await place('after', 3);

    const ids = [...lost, ...during, ...after];
    const final = await allConfirmed(ids, 30_000);
    expect(ids.map((id) => `${id} ${final[id]}`), String(proxy)).toEqual(ids.map((id) => `${id} CONFIRMED`));
    console.log(`all ${ids.length} orders CONFIRMED ${Date.now() - failedAt} ms after the lost round failed`);

    const lostEvents = await eventIds(lost);
    const otherEvents = await eventIds([...warmUp, ...during, ...after]);
    const tally = await tallyEventIds(topics.orderCreated.name, [...lostEvents, ...otherEvents], 30_000);
    expect(otherEvents.map((id) => tally.get(id) ?? 0)).toEqual(otherEvents.map(() => 1));
    for (const id of lostEvents) expect(tally.get(id)).toBeOneOf([1, 2]);
    console.log(`copies of the lost round's order.created: ${lostEvents.map((id) => tally.get(id)).join(', ')}`);
  });
});
