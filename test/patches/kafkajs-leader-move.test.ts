/**
 * patches/kafkajs+2.2.4.patch, against a real 2-broker cluster of the test's own: a send whose
 * partition moved to a broker that had already answered for another partition of the same send.
 *
 * Unpatched, kafkajs remembers answers per broker: after NOT_LEADER for p1 it refreshes metadata,
 * finds p1 now led by broker 1, sees broker 1 already answered (for p0) and sends nothing more, so
 * the send resolves while p1's message was never written (kafkajs issue 1303). The `npm run chaos`
 * 3-broker scenario lost outbox rows that way, each marked sent.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACKS_ALL, createIdempotentProducer, createKafka, type Kafka } from '../../shared/kafka/client.js';
import { pollUntil } from '../../shared/retry/poll-until.js';
import { kafkaBroker } from '../../stack/components.js';
import { layout, repoRoot, stackEnv } from '../../stack/layout.js';
import { Processes } from '../../stack/processes.js';
import { testConfig, testLogger } from '../support/stack.js';

// Below Linux's ephemeral range and apart from every other stack's ports; controllers on port + 1.
const brokers = ['127.0.0.1:19192', '127.0.0.1:19194'];
const root = mkdtempSync(path.join(os.tmpdir(), 'kafkajs-leader-move-'));
const cluster = layout(root);
const processes = new Processes(cluster);
const env = stackEnv({ KAFKA_BROKERS: brokers[0], KAFKA_BROKERS_COUNT: '2' });
const topic = 'leader-move';
let kafka: Kafka;
let admin: ReturnType<Kafka['admin']>;

beforeAll(async () => {
  // The jars of the tests' own stack (fetched by .ci/run and by the global setup).
  symlinkSync(layout(process.env.STACK_DIR || path.join(repoRoot, '.stack-test')).root + '/lib', path.join(root, 'lib'));
  await Promise.all([kafkaBroker(1, 2), kafkaBroker(2, 2)].map((broker) => broker.start(env, cluster, processes)));
  kafka = createKafka({ ...testConfig(), kafkaBrokers: brokers }, testLogger, 'leader-move');
  admin = kafka.admin();
  await admin.connect();
  await pollUntil(async () => (await admin.describeCluster()).brokers.length === 2, { what: 'both brokers registered', timeoutMs: 60_000 });
  // p0 led by broker 1; p1 led by broker 2 and replicated on 1.
  await admin.createTopics({
    topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2] }, { partition: 1, replicas: [2, 1] }] }],
    waitForLeaders: true,
  });
}, 240_000);

afterAll(async () => {
  await admin?.disconnect();
  // A throwaway cluster: no controlled shutdown worth waiting for.
  await Promise.all(['kafka-1', 'kafka-2'].map((name) => processes.stop(name, 3000)));
  rmSync(root, { recursive: true, force: true });
}, 60_000);

async function leaderOf(partition: number): Promise<number | undefined> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  return metadata.topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
}

describe('kafkajs producer, patched, when a partition moves to a broker that already answered', () => {
  it('writes every message of the send or fails it, never resolves with one missing', async () => {
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    try {
      // Warm the producer's metadata: p1 on broker 2.
      await producer.send({ topic, acks: ACKS_ALL, messages: [{ partition: 0, value: 'warm-0' }, { partition: 1, value: 'warm-1' }] });
      expect(await leaderOf(1)).toBe(2);

      // p1 moves to broker 1 behind the producer's back (its metadata is not refreshed for minutes).
      await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 1, replicas: [1] }] }] });
      await pollUntil(async () => (await leaderOf(1)) === 1 && (await admin.listPartitionReassignments({})).topics.length === 0, {
        what: 'p1 led by broker 1',
        timeoutMs: 30_000,
      });

      // One send: p0 answered by broker 1, p1 refused by broker 2 (not its leader any more), retried.
      await producer.send({ topic, acks: ACKS_ALL, messages: [{ partition: 0, value: 'moved-0' }, { partition: 1, value: 'moved-1' }] });
    } finally {
      await producer.disconnect();
    }

    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.map(({ partition, high }) => [partition, high]).sort()).toEqual([
      [0, '2'],
      [1, '2'],
    ]);
  }, 120_000);
});
