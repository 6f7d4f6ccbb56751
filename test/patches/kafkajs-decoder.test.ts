/**
 * patches/kafkajs+2.2.4.patch, the record-batch decoder: the patched kafkajs decodes what the broker
 * really returns exactly as kafkajs 2.2.4 does. The pristine package (the `kafkajs-pristine` npm alias,
 * which patch-package does not touch) consumes a topic holding plain and gzip batches with headers
 * (repeated keys, null keys and values, timestamps going backwards in a batch), a committed and an
 * aborted transaction (control records, aborted-transaction lists), from the start, from the middle
 * of a compressed batch and with a small fetch size (batches cut at the tail); every Fetch response
 * it receives is captured raw, decoded by both packages, and each field compared, then turned into
 * the consumer's batches at every fetch offset and compared again.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually, testConfig, uniqueId } from '../support/stack.js';

interface FetchResponse {
  decode(payload: Buffer): Promise<{ responses: Array<{ topicName: string; partitions: PartitionData[] }> }>;
}
interface PartitionData {
  partition: number;
  abortedTransactions: Array<{ producerId: string; firstOffset: string }>;
  messages: Array<{ offset: string; isControlRecord: boolean; headers: Record<string, unknown>; batchContext: { inTransaction: boolean } }>;
}
interface BatchView {
  messages: unknown[];
  messagesWithinOffset: unknown[];
  isEmptyControlRecord(): boolean;
  isEmptyDueToLogCompactedMessages(): boolean;
  firstOffset(): string | null;
  lastOffset(): string;
  offsetLag(): string;
}
type BatchClass = new (topic: string, fetchedOffset: string, partitionData: PartitionData) => BatchView;
interface KafkaModule {
  Kafka: new (config: object) => {
    producer(config?: object): {
      connect(): Promise<void>;
      disconnect(): Promise<void>;
      send(record: object): Promise<unknown>;
      transaction(): Promise<{ send(record: object): Promise<unknown>; commit(): Promise<void>; abort(): Promise<void> }>;
    };
    consumer(config: object): {
      connect(): Promise<void>;
      disconnect(): Promise<void>;
      subscribe(subscription: object): Promise<void>;
      run(config: object): Promise<void>;
    };
    admin(): {
      connect(): Promise<void>;
      disconnect(): Promise<void>;
      createTopics(options: object): Promise<boolean>;
      setOffsets(options: object): Promise<void>;
      deleteTopics(options: object): Promise<void>;
    };
  };
  CompressionTypes: { GZIP: number };
  logLevel: { NOTHING: number };
}

// kafkajs has no exports map: its internals are loaded by path from each installed package.
const require = createRequire(import.meta.url);
const roots = {
  patched: path.dirname(require.resolve('kafkajs/package.json')),
  pristine: path.dirname(require.resolve('kafkajs-pristine/package.json')),
};
const load = <T>(root: string, file: string): T => require(path.join(root, file)) as T;
const fetchVersions = [4, 5, 6, 7, 8, 9, 10, 11];
const responseOf = (root: string, version: number) => load<FetchResponse>(root, `src/protocol/requests/fetch/v${version}/response.js`);

/**
 * Whether a one-topic, one-partition Fetch v11 response's record set ends part-way through a batch:
 * walks the batches by their length fields (base offset int64, length int32, then `length` bytes).
 */
function endsPartWay(payload: Buffer, version: number, topic: string, abortedCount: number): boolean {
  if (version !== 11) return false;
  const recordSetSize = 4 + 2 + 4 + 4 + 2 + Buffer.byteLength(topic) + 4 + 4 + 2 + 8 + 8 + 8 + 4 + 16 * abortedCount + 4;
  const size = payload.readInt32BE(recordSetSize);
  const end = recordSetSize + 4 + size;
  let position = recordSetSize + 4;
  while (position + 12 <= end) position += 12 + payload.readInt32BE(position + 8);
  return position !== end;
}

describe('kafkajs record-batch decoder (patched) against kafkajs 2.2.4', () => {
  it('decodes real broker batches, plain, gzip, transactional, mid-batch and cut, field for field as the original', async () => {
    const decoderFile = 'src/protocol/recordBatch/record/v0/decoder.js';
    expect(readFileSync(path.join(roots.patched, decoderFile), 'utf8'), 'the installed kafkajs carries the decoder patch').not.toEqual(
      readFileSync(path.join(roots.pristine, decoderFile), 'utf8'),
    );

    // Every Fetch response the pristine client receives, raw, with the phase that fetched it.
    const captured: Array<{ phase: string; version: number; payload: Buffer }> = [];
    let phase = 'setup';
    for (const version of fetchVersions) {
      const response = responseOf(roots.pristine, version);
      const original = response.decode.bind(response);
      response.decode = (payload: Buffer) => {
        captured.push({ phase, version, payload: Buffer.from(payload) });
        return original(payload);
      };
    }

    const { Kafka, CompressionTypes, logLevel } = require('kafkajs-pristine') as KafkaModule;
    const kafka = new Kafka({ clientId: 'decoder-test', brokers: testConfig().kafkaBrokers, logLevel: logLevel.NOTHING });
    const topic = uniqueId('test-decoder');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });

      const now = Date.now();
      const message = (i: number) => ({
        key: i % 5 === 0 ? null : `key-${i}`,
        value: i % 7 === 0 ? null : JSON.stringify({ i, text: 'x'.repeat(i % 40) }),
        // Backwards and forwards within a batch: negative and positive timestamp deltas.
        timestamp: String(now - ((i * 7919) % 3000)),
        headers: i % 3 === 0 ? {} : { 'event-id': `e-${i}`, trace: [`a-${i}`, `b-${i}`], empty: '' },
      });
      const producer = kafka.producer({ idempotent: true });
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => message(i)) });
      await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: Array.from({ length: 40 }, (_, i) => message(100 + i)) });
      await producer.disconnect();

      const transactional = kafka.producer({ transactionalId: uniqueId('decoder-test'), idempotent: true, maxInFlightRequests: 1 });
      await transactional.connect();
      const committed = await transactional.transaction();
      await committed.send({ topic, messages: Array.from({ length: 5 }, (_, i) => message(200 + i)) });
      await committed.commit();
      const aborted = await transactional.transaction();
      await aborted.send({ topic, compression: CompressionTypes.GZIP, messages: Array.from({ length: 5 }, (_, i) => message(300 + i)) });
      await aborted.abort();
      await transactional.disconnect();

      const tail = kafka.producer();
      await tail.connect();
      await tail.send({ topic, messages: Array.from({ length: 10 }, (_, i) => message(400 + i)) });
      await tail.disconnect();
      // 20 + 40 + 5 + commit marker + 5 + abort marker + 10 records: offsets 0..81.
      const end = 82;

      /** Consumes the topic from `offset` until the last offset was seen; returns what it was handed. */
      const consume = async (name: string, offset: number, options: object) => {
        phase = name;
        const groupId = uniqueId('decoder-test');
        if (offset > 0) await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: String(offset) }] });
        const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50, ...options });
        const seen: string[] = [];
        await consumer.connect();
        try {
          await consumer.subscribe({ topic, fromBeginning: true });
          await consumer.run({
            eachBatch: async ({ batch }: { batch: { messages: Array<{ offset: string }>; lastOffset(): string } }) => {
              seen.push(...batch.messages.map((m) => m.offset), `last:${batch.lastOffset()}`);
            },
          });
          await eventually(async () => (seen.includes(`last:${end - 1}`) ? true : undefined), `${name}: offset ${end - 1}`, 10_000);
        } finally {
          await consumer.disconnect();
        }
        return seen;
      };
      await consume('whole', 0, {});
      await consume('uncommitted', 0, { readUncommitted: true });
      // Offset 30 is inside the gzip batch (20..59): the broker returns it whole, from 20.
      await consume('mid-batch', 30, {});
      // Small fetches: the broker cuts the last batch of a response part-way.
      await consume('cut', 0, { maxBytesPerPartition: 700, maxBytes: 700 });
    } finally {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    }

    const Batches = { patched: load<BatchClass>(roots.patched, 'src/consumer/batch.js'), pristine: load<BatchClass>(roots.pristine, 'src/consumer/batch.js') };
    const seen = { compressed: false, headersRepeated: false, control: false, aborted: false, midBatch: false, cut: false };
    let compared = 0;
    for (const { phase: fetchedIn, version, payload } of captured.filter((c) => c.phase !== 'setup')) {
      const original = await responseOf(roots.pristine, version).decode(payload);
      const patched = await responseOf(roots.patched, version).decode(payload);
      expect(patched).toStrictEqual(original);
      for (const { topicName, partitions } of original.responses) {
        if (topicName !== topic) continue;
        for (const [index, partition] of partitions.entries()) {
          const patchedPartition = patched.responses.find((r) => r.topicName === topic)!.partitions[index]!;
          const messages = partition.messages;
          if (messages.length === 0) continue;
          compared += messages.length;
          seen.compressed ||= payload.includes(Buffer.from([0x1f, 0x8b]));
          seen.headersRepeated ||= messages.some((m) => Array.isArray(m.headers.trace));
          seen.control ||= messages.some((m) => m.isControlRecord);
          seen.aborted ||= partition.abortedTransactions.length > 0;
          seen.midBatch ||= fetchedIn === 'mid-batch' && Number(messages[0]!.offset) < 30;
          seen.cut ||= fetchedIn === 'cut' && endsPartWay(payload, version, topic, partition.abortedTransactions.length);
          const first = Number(messages[0]!.offset);
          for (const fetched of [0, first, first + 1, first + 7, Number(messages.at(-1)!.offset), Number(messages.at(-1)!.offset) + 1]) {
            const batch = (Class: BatchClass, data: PartitionData) => {
              const b = new Class(topic, String(fetched), data);
              return {
                messages: b.messages,
                within: b.messagesWithinOffset,
                emptyControl: b.isEmptyControlRecord(),
                compacted: b.isEmptyDueToLogCompactedMessages(),
                firstOffset: b.firstOffset(),
                lastOffset: b.lastOffset(),
              };
            };
            expect(batch(Batches.patched, patchedPartition)).toStrictEqual(batch(Batches.pristine, partition));
          }
        }
      }
    }
    expect(seen, 'the captured responses cover every case').toEqual({ compressed: true, headersRepeated: true, control: true, aborted: true, midBatch: true, cut: true });
    expect(compared).toBeGreaterThan(4 * 70);
  });
});
