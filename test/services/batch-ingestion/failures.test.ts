import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS, headersToStrings } from '../../../shared/consumer/headers.js';
import { applySchema } from '../../../shared/db.js';
import { dlqTopicName, retryTopicName } from '../../../shared/kafka/topology.js';
import { schemaSql } from '../../../services/batch-ingestion/store.js';
import { killAll, type ServiceProcess } from '../../support/processes.js';
import { eventually, readTopic, testKafka, testSerde, uniqueId } from '../../support/stack.js';
import {
  countRows,
  encodeAll,
  failureTopicEnds,
  freshDatabase,
  group,
  groupTopics,
  makeEvents,
  metricValue,
  produce,
  skipBacklog,
  source,
  startIngestion,
} from './helpers.js';

const started: ServiceProcess[] = [];
let db: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  db = await freshDatabase(process.env.DATABASE_URL!);
  await applySchema(db.pool, schemaSql);
});

afterAll(async () => {
  await killAll(started);
  await db?.drop();
});

describe('batch-ingestion failure isolation', () => {
  it('one malformed event and one constraint violation among 5,000: 4,998 rows, two DLQ messages with error headers, the rest on time', async () => {
    const runId = uniqueId('bad');
    const serde = testSerde();
    const events = makeEvents(runId, 4_999);
    // Well-formed Avro that the table refuses: CHECK (amount_cents >= 0).
    const violating = events[2_000]!;
    violating.amountCents = -500;
    const messages = await encodeAll(serde, events);
    // Framed like every value (magic byte, the subject's schema id) but with a body no schema reads.
    const header = Buffer.alloc(5);
    header.writeUInt32BE(await serde.register(source), 1);
    messages.splice(3_000, 0, { key: `${runId}-malformed`, value: Buffer.concat([header, Buffer.from([0xff, 0xff, 0xff])]) });

    await skipBacklog();
    const before = await failureTopicEnds();
    await produce(messages);
    const service = startIngestion({ DATABASE_URL: db.url });
    started.push(service);
    const url = await service.ready;

    await eventually(async () => ((await countRows(db.pool)) >= 4_998 ? true : undefined), '4,998 rows', 60_000);
    const rowsAt = Date.now();

    const dlq = dlqTopicName(source, group.groupId);
    const ours = <M extends { key: Buffer | null }>(seen: readonly M[]) => seen.filter((m) => m.key?.toString().startsWith(runId));
    const dead = ours(await readTopic(dlq, (seen) => ours(seen).length >= 2, 60_000));
    expect(dead).toHaveLength(2);

    const malformed = headersToStrings(dead.find((m) => m.key?.toString() === `${runId}-malformed`)?.headers);
    expect(malformed[HEADERS.errorClass]).toBe('PoisonPillError');
    expect(malformed[HEADERS.attempt]).toBe('1');
    expect(malformed[HEADERS.originalTopic]).toBe(source.name);
    expect(malformed[HEADERS.consumerGroup]).toBe(group.groupId);

    const rejected = headersToStrings(dead.find((m) => m.key?.toString() === violating.orderId)?.headers);
    expect(rejected[HEADERS.eventId]).toBe(violating.eventId);
    expect(rejected[HEADERS.errorClass]).toBe('RowsRejectedError');
    expect(rejected[HEADERS.errorMessage]).toContain('analytics_events_amount_cents_check');
    // Through every retry tier first: 4 deliveries (the group's policy), then the DLQ.
    expect(rejected[HEADERS.attempt]).toBe('4');
    expect(rejected[HEADERS.originalTopic]).toBe(source.name);
    for (const name of [HEADERS.originalPartition, HEADERS.originalOffset, HEADERS.firstFailureAt, HEADERS.lastFailureAt, HEADERS.errorStack]) {
      expect(rejected[name]).toBeTruthy();
    }

    // Only the bad row took the retry path: one message per tier, not its batch.
    const after = await failureTopicEnds();
    for (let tier = 1; tier <= 3; tier++) {
      const topic = retryTopicName(source, group.groupId, tier);
      expect(after[topic]! - before[topic]!, topic).toBe(1);
    }
    expect(after[dlq]! - before[dlq]!).toBe(2);

    // The good rows were stored before the bad row's first retry was even due.
    const firstRetry = ours(await readTopic(retryTopicName(source, group.groupId, 1), (seen) => ours(seen).length >= 1));
    const firstDueAt = Number(headersToStrings(firstRetry[0]?.headers)[HEADERS.dueAt]);
    console.log(`4,998 rows stored ${firstDueAt - rowsAt} ms before the first retry was due`);
    expect(rowsAt).toBeLessThanOrEqual(firstDueAt);

    expect(await countRows(db.pool)).toBe(4_998);
    expect(await countRows(db.pool, 'event_id = $1', [violating.eventId])).toBe(0);
    expect(await metricValue(url, 'batch_ingestion_rows_rejected_total', 'outcome="retried"')).toBe(3);
    expect(await metricValue(url, 'batch_ingestion_rows_rejected_total', 'outcome="dead_lettered"')).toBe(1);

    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });

  it('a row the store refuses with an error outside class 22/23 (a 6 kB event id) goes to the DLQ; the 100 others are stored, every offset committed', async () => {
    const runId = uniqueId('huge');
    const events = makeEvents(runId, 101);
    // Over the B-tree's row size limit (about 2.7 kB): PostgreSQL answers SQLSTATE 54000. Random, so
    // that the index entry cannot be compressed below the limit (6 kB of one letter would be).
    const huge = events[50]!;
    huge.eventId = `${runId}-${randomBytes(4608).toString('base64')}`;
    huge.orderId = `${runId}-huge`;

    await skipBacklog();
    const before = await failureTopicEnds();
    await produce(await encodeAll(testSerde(), events));
    const service = startIngestion({ DATABASE_URL: db.url });
    started.push(service);
    const url = await service.ready;

    const stored = (): Promise<number> => countRows(db.pool, 'event_id LIKE $1', [`${runId}-%`]);
    const storedWithin30s = await eventually(async () => ((await stored()) >= 100 ? true : undefined), 'the 100 good rows', 30_000).catch(
      (error: unknown) => {
        console.log(service.output.filter((line) => line.includes('unavailable')).slice(0, 2).join('\n').slice(0, 600));
        throw error;
      },
    );
    expect(storedWithin30s).toBe(true);

    const dlq = dlqTopicName(source, group.groupId);
    const dead = (await readTopic(dlq, (seen) => seen.some((m) => m.key?.toString() === huge.orderId), 60_000)).filter(
      (m) => m.key?.toString() === huge.orderId,
    );
    expect(dead).toHaveLength(1);
    expect(headersToStrings(dead[0]?.headers)[HEADERS.eventId]).toBe(huge.eventId);
    expect(await stored()).toBe(100);
    expect((await failureTopicEnds())[dlq]! - before[dlq]!).toBe(1);
    expect(await metricValue(url, 'batch_ingestion_paused')).toBe(0);

    // Nothing held back: the group's committed offsets reach the end of its source and retry topics.
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await eventually(async () => {
        for (const topic of groupTopics()) {
          const ends = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId: group.groupId, topics: [topic] });
          for (const { partition, high } of ends) {
            if (committed?.partitions.find((p) => p.partition === partition)?.offset !== high) return undefined;
          }
        }
        return true;
      }, 'committed offsets at the topic ends', 30_000);
    } finally {
      await admin.disconnect();
    }

    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  }, 180_000);
});
