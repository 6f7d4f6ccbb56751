/**
 * The outbox relay when the broker appends a round's batch but its answer is lost (a proxy between
 * the relay and the broker drops it and cuts the connection, on every retry, until the round fails).
 * The round's rows stay unsent and are published again: they may be on the topic twice, with the
 * same event id (consumers deduplicate on it). Every other row must be published exactly once, and
 * rounds after the failure must keep publishing: with one relay (whose next, larger batch kafkajs
 * numbered as if the lost one had never been appended) and with two relays side by side (where a
 * later batch of the lost one's size was acknowledged by the broker as its retry, and never appended).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { schemas, type OrderCancelled } from '../../../shared/contracts/schemas.js';
import { createPool, withTransaction, type Pool } from '../../../shared/db.js';
import { feed } from '../../../shared/instrumentation/events.js';
import { createKafka, kafkaClient } from '../../../shared/kafka/client.js';
import { declareTopic, type TopicDeclaration } from '../../../shared/kafka/topology.js';
import { Outbox, type OutboxMessage } from '../../../shared/outbox/outbox.js';
import { OutboxRelay } from '../../../shared/outbox/relay.js';
import { tallyEventIds } from '../../support/event-tally.js';
import { KafkaProxy } from '../../support/kafka-proxy.js';
import { eventually, provisionTestTopic, testConfig, testLogger, testSerde } from '../../support/stack.js';

const suffix = randomUUID().slice(0, 8);
let pool: Pool;
let proxy: KafkaProxy;
const relays: OutboxRelay[] = [];
const tables: string[] = [];

/** One partition: every round's batch lands on the partition whose sequence the lost answer disturbed. */
async function testTopic(name: string): Promise<TopicDeclaration<OrderCancelled>> {
  const topic = declareTopic(`test.relay-lost.${name}.${suffix}`, schemas.OrderCancelled, { partitions: 1 });
  return provisionTestTopic(topic);
}

async function testOutbox(name: string): Promise<Outbox> {
  const outbox = new Outbox(pool, `relay_lost_${name}_${suffix}`);
  await outbox.create();
  tables.push(outbox.table);
  return outbox;
}

/** A relay whose Kafka traffic goes through the proxy (`viaProxy`) or straight to the broker. */
function startRelay(outbox: Outbox, topic: TopicDeclaration, viaProxy: boolean): OutboxRelay {
  const brokers = viaProxy ? [proxy.address] : testConfig().kafkaBrokers;
  const relay = new OutboxRelay({
    pool,
    client: kafkaClient(createKafka({ ...testConfig(), kafkaBrokers: brokers }, testLogger, viaProxy ? 'relay-via-proxy' : 'relay')),
    serde: testSerde(),
    logger: testLogger,
    table: outbox.table,
    topics: (name) => (name === topic.name ? topic : undefined),
    pollIntervalMs: 100,
  });
  outbox.onCommit(() => relay.wake());
  relay.start();
  relays.push(relay);
  return relay;
}

/** Commits `count` rows in one transaction; returns their event ids. */
async function writeRows(outbox: Outbox, topic: TopicDeclaration<OrderCancelled>, label: string, count: number): Promise<string[]> {
  const rows = Array.from({ length: count }, (_, i): OutboxMessage<unknown> => {
    const eventId = randomUUID();
    return { topic, key: `order-${label}-${i}`, eventId, value: { eventId, orderId: `order-${label}-${i}`, reason: label, cancelledAt: i } } as OutboxMessage<unknown>;
  });
  await withTransaction(pool, (tx) => outbox.append(tx, rows));
  return rows.map((row) => row.eventId);
}

async function unsent(outbox: Outbox, ids: string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${outbox.table} WHERE event_id = ANY($1) AND sent_at IS NULL`, [ids]);
  return rows[0]!.n;
}

/** Resolves at the next failed round of the relays on `outbox`'s table, after running `then` at once (before the next round). */
function nextFailedRound(outbox: Outbox, then?: () => void): Promise<void> {
  return new Promise((resolve) => {
    const unsubscribe = feed.outboxRelayFailed.subscribe(({ table }) => {
      if (table !== outbox.table) return;
      then?.();
      unsubscribe();
      resolve();
    });
  });
}

function copies(tally: Map<string, number>, ids: string[]): number[] {
  return ids.map((id) => tally.get(id) ?? 0);
}

beforeAll(async () => {
  pool = createPool(testConfig().databaseUrl, testLogger);
  proxy = await KafkaProxy.start(testConfig().kafkaBrokers[0]!);
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  proxy.heal();
});

afterAll(async () => {
  await proxy?.close();
  for (const table of tables) await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool?.end();
});

describe('outbox relay after a round whose answer was lost', () => {
  it('one relay: later rounds publish every row, each once (the lost round’s rows at most twice)', async () => {
    const topic = await testTopic('one');
    const outbox = await testOutbox('one');
    startRelay(outbox, topic, true);
    const warmUp = await writeRows(outbox, topic, 'warm-up', 2);
    await eventually(async () => ((await unsent(outbox, warmUp)) === 0 ? true : undefined), 'the warm-up rows published', 30_000);

    proxy.loseNextProduce();
    const failed = nextFailedRound(outbox);
    const lost = await writeRows(outbox, topic, 'lost', 3);
    await eventually(async () => (proxy.lostProduceResponses > 0 ? true : undefined), 'a produce answer lost', 30_000);
    // Committed while the round is still retrying: the next round takes them with the lost round's rows.
    const during = await writeRows(outbox, topic, 'during', 2);
    await failed;
    const after = await writeRows(outbox, topic, 'after', 4);

    const tally = await tallyEventIds(topic.name, [...warmUp, ...lost, ...during, ...after], 30_000);
    expect({ warmUp: copies(tally, warmUp), during: copies(tally, during), after: copies(tally, after) }, String(proxy)).toEqual({
      warmUp: [1, 1],
      during: [1, 1],
      after: [1, 1, 1, 1],
    });
    for (const count of copies(tally, lost)) expect(count).toBeOneOf([1, 2]);
    expect(await unsent(outbox, [...lost, ...during, ...after])).toBe(0);
    console.log(`copies on the topic of the lost round's rows: ${copies(tally, lost).join(', ')}`);
  });

  it('two relays side by side: a later round of the lost one’s size is appended, not taken for its retry', async () => {
    const topic = await testTopic('two');
    const outbox = await testOutbox('two');
    const viaProxy = startRelay(outbox, topic, true);
    const warmUp = await writeRows(outbox, topic, 'warm-up', 2);
    await eventually(async () => ((await unsent(outbox, warmUp)) === 0 ? true : undefined), 'the warm-up rows published', 30_000);

    // The round is appended and its answer lost; then this relay is cut off while the other one
    // publishes its rows.
    proxy.loseNextProduce();
    const failed = nextFailedRound(outbox, () => proxy.cutOff());
    const lost = await writeRows(outbox, topic, 'lost', 3);
    await failed;
    const direct = startRelay(outbox, topic, false);
    await eventually(async () => ((await unsent(outbox, lost)) === 0 ? true : undefined), 'the lost round’s rows published by the other relay', 60_000);
    await direct.stop();

    // The first relay alone again, reachable, with a round of the lost one's size.
    proxy.heal();
    const sameSize = await writeRows(outbox, topic, 'same-size', lost.length);
    await eventually(async () => ((await unsent(outbox, sameSize)) === 0 ? true : undefined), 'the same-size rows marked sent', 60_000);
    const later = await writeRows(outbox, topic, 'later', 2);

    const tally = await tallyEventIds(topic.name, [...warmUp, ...lost, ...sameSize, ...later], 30_000);
    expect({ warmUp: copies(tally, warmUp), sameSize: copies(tally, sameSize), later: copies(tally, later) }, String(proxy)).toEqual({
      warmUp: [1, 1],
      sameSize: [1, 1, 1],
      later: [1, 1],
    });
    for (const count of copies(tally, lost)) expect(count).toBeOneOf([1, 2]);
    expect(viaProxy.isConnected()).toBe(true);
  });
});
