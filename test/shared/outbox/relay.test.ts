/**
 * The outbox relay on its own, against the real stack: rows of one key reach Kafka in the order they
 * were written, several relays on one table publish every row once in that order, and a relay
 * process killed while rows are committed and being published loses nothing: a new relay publishes
 * every row, and a row published twice carries the same event id both times. Rows are leased, not
 * locked, while they are published: rows another transaction holds locked do not hold up the rest,
 * and a relay frozen mid-publish delays its rows by no more than its lease and a round.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS } from '../../../shared/consumer/headers.js';
import { schemas, type OrderCancelled } from '../../../shared/contracts/schemas.js';
import { createPool, withTransaction, type Pool } from '../../../shared/db.js';
import { kafkaClient } from '../../../shared/kafka/client.js';
import { declareTopic, type TopicDeclaration } from '../../../shared/kafka/topology.js';
import { Outbox, type OutboxMessage } from '../../../shared/outbox/outbox.js';
import { OutboxRelay } from '../../../shared/outbox/relay.js';
import { repoRoot } from '../../../stack/layout.js';
import { eventually, readTopic, provisionTestTopic, testConfig, testKafka, testLogger, testSerde } from '../../support/stack.js';
import { killAll, startProcess, type ServiceProcess } from '../../support/processes.js';

const suffix = randomUUID().slice(0, 8);
const relayWorker = path.join(repoRoot, 'test', 'support', 'relay-worker.ts');
const keys = Array.from({ length: 8 }, (_, i) => `key-${i}`);
let pool: Pool;
const processes: ServiceProcess[] = [];
const relays: OutboxRelay[] = [];
const tables: string[] = [];

/** A topic of this run only, so no service's group ever reads these rows. */
async function testTopic(name: string): Promise<TopicDeclaration<OrderCancelled>> {
  const topic = declareTopic(`test.relay.${name}.${suffix}`, schemas.OrderCancelled, { partitions: 3 });
  return provisionTestTopic(topic);
}

async function testOutbox(name: string): Promise<Outbox> {
  const outbox = new Outbox(pool, `relay_test_${name}_${suffix}`);
  await outbox.create();
  tables.push(outbox.table);
  return outbox;
}

function startRelay(outbox: Outbox, topic: TopicDeclaration, batchSize: number): OutboxRelay {
  const relay = new OutboxRelay({
    pool,
    client: kafkaClient(testKafka()),
    serde: testSerde(),
    logger: testLogger,
    table: outbox.table,
    topics: (name) => (name === topic.name ? topic : undefined),
    batchSize,
    pollIntervalMs: 100,
  });
  outbox.onCommit(() => relay.wake());
  relay.start();
  relays.push(relay);
  return relay;
}

function message(topic: TopicDeclaration<OrderCancelled>, key: string, seq: number): OutboxMessage<unknown> {
  const eventId = randomUUID();
  return { topic, key, eventId, value: { eventId, orderId: key, reason: `#${seq}`, cancelledAt: seq } } as OutboxMessage<unknown>;
}

/** Writes `perKey` rows for every key, each key's rows one transaction after another, keys concurrently. */
async function writeRows(outbox: Outbox, topic: TopicDeclaration<OrderCancelled>, perKey: number, rowsPerTransaction = 1): Promise<Map<string, string[]>> {
  const written = new Map<string, string[]>(keys.map((key) => [key, []]));
  await Promise.all(
    keys.map(async (key) => {
      for (let seq = 0; seq < perKey; seq += rowsPerTransaction) {
        const batch = Array.from({ length: Math.min(rowsPerTransaction, perKey - seq) }, (_, i) => message(topic, key, seq + i));
        await withTransaction(pool, (tx) => outbox.append(tx, batch));
        written.get(key)!.push(...batch.map((m) => m.eventId));
      }
    }),
  );
  return written;
}

interface Published {
  key: string;
  eventId: string;
  value: OrderCancelled;
}

/** Everything on the topic once every written event id has arrived, in partition order. */
async function readAll(topic: TopicDeclaration<OrderCancelled>, written: Map<string, string[]>, timeoutMs = 90_000): Promise<Published[]> {
  const expected = new Set([...written.values()].flat());
  const raw = await readTopic(
    topic.name,
    (messages) => {
      const seen = new Set(messages.map((m) => m.headers?.[HEADERS.eventId]?.toString()));
      return [...expected].every((id) => seen.has(id));
    },
    timeoutMs,
  );
  const serde = testSerde();
  return Promise.all(
    raw.map(async (m) => ({
      key: m.key!.toString(),
      eventId: m.headers![HEADERS.eventId]!.toString(),
      value: await serde.decode(topic, m.value!),
    })),
  );
}

/** Per key, the event ids in the order they arrived, a repeat of an earlier one left out. */
function firstArrivals(published: readonly Published[]): Map<string, string[]> {
  const order = new Map<string, string[]>();
  for (const { key, eventId } of published) {
    const ids = order.get(key) ?? [];
    if (!ids.includes(eventId)) ids.push(eventId);
    order.set(key, ids);
  }
  return order;
}

beforeAll(() => {
  pool = createPool(testConfig().databaseUrl, testLogger);
});

afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.stop()));
  await killAll(processes);
  for (const table of tables) await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
});

describe('outbox relay', () => {
  it('publishes each key’s rows in the order they were written, each once, with the row’s event id', async () => {
    const topic = await testTopic('order');
    const outbox = await testOutbox('order');
    startRelay(outbox, topic, 7);
    const written = await writeRows(outbox, topic, 25, 3);
    const published = await readAll(topic, written);
    expect(published).toHaveLength(keys.length * 25);
    expect(firstArrivals(published)).toEqual(written);
    for (const { eventId, value } of published) expect(value.eventId).toBe(eventId);
  });

  it('several relays side by side on one table: every row published once, each key in order', async () => {
    const topic = await testTopic('side-by-side');
    const outbox = await testOutbox('side_by_side');
    for (let i = 0; i < 3; i++) startRelay(outbox, topic, 5);
    const written = await writeRows(outbox, topic, 40);
    const published = await readAll(topic, written);
    const ids = published.map((p) => p.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(keys.length * 40);
    expect(firstArrivals(published)).toEqual(written);
  });

  it('a relay process killed while committed rows are being published loses none: a new relay publishes them all', async () => {
    const topic = await testTopic('crash');
    const outbox = await testOutbox('crash');
    // Committed before any relay runs: the writer's own wake-up is lost, as when its process dies.
    const written = await writeRows(outbox, topic, 300, 50);
    // The killed relay's last claim holds its rows for a lease: a short one keeps the test short.
    const env = { RELAY_TABLE: outbox.table, RELAY_TOPIC: topic.name, RELAY_BATCH_SIZE: '20', RELAY_LEASE_MS: '3000', LOG_LEVEL: 'debug' };
    const entry = relayWorker;
    const first = startProcess(entry, env);
    processes.push(first);
    // Killed as soon as it has published a little: mid-way through its rounds, with one in flight.
    await eventually(
      async () => (first.output.some((line) => line.includes('"msg":"published outbox rows"')) ? true : undefined),
      'the first relay to publish',
      60_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const { rows } = await pool.query<{ unsent: string }>(`SELECT count(*) AS unsent FROM ${outbox.table} WHERE sent_at IS NULL`);
    expect(Number(rows[0]!.unsent), 'rows left for the next relay').toBeGreaterThan(0);

    processes.push(startProcess(entry, env));
    const published = await readAll(topic, written);
    const arrivals = firstArrivals(published);
    expect(arrivals).toEqual(written);
    // A row published twice is the same row: the same event id and value each time.
    const byId = new Map<string, OrderCancelled>();
    for (const { eventId, value } of published) {
      expect(value.eventId).toBe(eventId);
      if (byId.has(eventId)) expect(value).toEqual(byId.get(eventId));
      byId.set(eventId, value);
    }
    console.log(`relay killed after publishing; ${published.length - byId.size} rows published twice, none lost`);
    await eventually(
      async () => {
        const { rows: left } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${outbox.table} WHERE sent_at IS NULL`);
        return Number(left[0]!.n) === 0 ? true : undefined;
      },
      'every row marked sent',
      30_000,
    );
  });

  it('rows another transaction holds locked hold up only their keys: the other keys are published at once, the held keys in order once the lock goes', async () => {
    const topic = await testTopic('locked');
    const outbox = await testOutbox('locked');
    const written = await writeRows(outbox, topic, 10);
    const holder = await pool.connect();
    let early: Published[];
    let heldKeys: Set<string>;
    try {
      await holder.query('BEGIN');
      const { rows } = await holder.query<{ message_key: string }>(
        `SELECT message_key FROM ${outbox.table} WHERE sent_at IS NULL ORDER BY id LIMIT 3 FOR UPDATE`,
      );
      heldKeys = new Set(rows.map((row) => row.message_key));
      startRelay(outbox, topic, 500);
      const free = new Map([...written].filter(([key]) => !heldKeys.has(key)));
      early = await readAll(topic, free, 20_000);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    // A held key's later rows would overtake its locked oldest one.
    expect(early.filter((p) => heldKeys.has(p.key)).map((p) => p.key)).toEqual([]);
    const published = await readAll(topic, written);
    expect(firstArrivals(published)).toEqual(written);
  });

  it('a relay process frozen (SIGSTOP) while it holds rows delays them by no more than its lease and a round', async () => {
    const topic = await testTopic('frozen');
    const outbox = await testOutbox('frozen');
    const written = await writeRows(outbox, topic, 100, 50);
    const leaseMs = 3000;
    // One row a round: 800 rounds keep it busy for seconds, so the freeze below lands inside a round.
    // With 20 a round it could be done before the first freeze (a CI run failed so).
    const env = { RELAY_TABLE: outbox.table, RELAY_TOPIC: topic.name, RELAY_BATCH_SIZE: '1', RELAY_LEASE_MS: String(leaseMs), LOG_LEVEL: 'debug' };
    const frozen = startProcess(relayWorker, env);
    processes.push(frozen);
    try {
      await eventually(
        async () => (frozen.output.some((line) => line.includes('"msg":"published outbox rows"')) ? true : undefined),
        'the relay to publish',
        60_000,
      );
      // Frozen while it holds a lease (not between two rounds).
      let stoppedAt = 0;
      for (let attempt = 0; attempt < 10 && !stoppedAt; attempt++) {
        frozen.child.kill('SIGSTOP');
        // A statement it sent just before completes on the server: let it land before looking.
        await sleep(300);
        const { rows } = await pool.query(`SELECT 1 FROM ${outbox.table} WHERE sent_at IS NULL AND leased_until > now() LIMIT 1`);
        if (rows.length > 0) stoppedAt = Date.now();
        else frozen.child.kill('SIGCONT');
      }
      expect(stoppedAt, 'the relay frozen holding a lease').toBeGreaterThan(0);
      startRelay(outbox, topic, 500);
      await eventually(async () => ((await unsentRows(outbox)) === 0 ? true : undefined), 'every row marked sent', 30_000);
      const elapsedMs = Date.now() - stoppedAt;
      console.log(`relay frozen: every row sent ${elapsedMs} ms after the freeze (lease ${leaseMs} ms)`);
      expect(elapsedMs).toBeLessThan(leaseMs + 5000);
      // Woken up, it publishes its batch again but cannot mark rows whose lease it lost.
      frozen.child.kill('SIGCONT');
      await eventually(async () => (frozen.output.some((line) => line.includes('lease lost')) ? true : undefined), 'the woken relay to find its lease lost', 30_000);
    } finally {
      frozen.child.kill('SIGKILL');
    }
    const published = await readAll(topic, written);
    expect(firstArrivals(published)).toEqual(written);
  });
});

async function unsentRows(outbox: Outbox): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${outbox.table} WHERE sent_at IS NULL`);
  return Number(rows[0]!.n);
}
