import { randomUUID } from 'node:crypto';
import { HEADERS, headersToStrings } from '../consumer/headers.js';
import type { Admin, IHeaders, Kafka } from '../kafka/client.js';
import { createScanConsumer } from '../kafka/tooling-clients.js';
import type { Logger } from '../logger.js';
import { DlqRefusedError } from './errors.js';
import { matches, type Filterable, type MessageFilter } from './filter.js';
import type { DlqTarget } from './targets.js';

/** One message of a DLQ, with its raw bytes (for replay) and its headers as strings (for display). */
export interface DlqRecord extends Filterable {
  target: DlqTarget;
  /** Epoch ms at which it was written to the DLQ. */
  timestamp: number;
  keyBytes: Buffer | null;
  value: Buffer | null;
  rawHeaders: IHeaders;
  headers: Record<string, string>;
}

export interface PartitionRange {
  partition: number;
  /** First offset still in the log (moves up when a purge deletes records). */
  low: bigint;
  /** Next offset to be written. */
  high: bigint;
}

export interface DlqContents {
  target: DlqTarget;
  partitions: PartitionRange[];
  /** Every message from each partition's low to its high watermark at the time of reading, in offset order. */
  records: DlqRecord[];
}

export interface ReadOptions {
  /** @defaultValue 60000 */
  timeoutMs?: number;
}

/** The DLQ topics that exist on the broker; a missing one was never provisioned. */
export async function existingTopics(admin: Admin, targets: readonly DlqTarget[]): Promise<Set<string>> {
  const present = new Set(await admin.listTopics());
  return new Set(targets.map((t) => t.dlqTopic).filter((name) => present.has(name)));
}

export function requireProvisioned(targets: readonly DlqTarget[], present: ReadonlySet<string>): void {
  const missing = targets.filter((target) => !present.has(target.dlqTopic));
  if (missing.length > 0) {
    throw new DlqRefusedError(
      `DLQ topic(s) not on the broker: ${missing.map((t) => t.dlqTopic).join(', ')} (run npm run provision, or check the group id)`,
    );
  }
}

function toRecord(target: DlqTarget, partition: number, message: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers?: IHeaders }): DlqRecord {
  const headers = headersToStrings(message.headers);
  return {
    target,
    partition,
    offset: message.offset,
    timestamp: Number(message.timestamp),
    key: message.key?.toString() ?? null,
    keyBytes: message.key,
    value: message.value,
    rawHeaders: message.headers ?? {},
    headers,
    errorClass: headers[HEADERS.errorClass],
    errorCode: headers[HEADERS.errorCode],
  };
}

/**
 * Reads each DLQ from its low to its high watermark as they are now (messages arriving meanwhile are
 * left for the next run). kafkajs has no manual partition assignment, so this joins a throwaway
 * consumer group that never commits, and deletes it afterwards so no junk groups pile up.
 */
export async function readDlqs(
  kafka: Kafka,
  admin: Admin,
  targets: readonly DlqTarget[],
  logger: Logger,
  options: ReadOptions = {},
): Promise<DlqContents[]> {
  const contents = new Map<string, DlqContents>();
  const remaining = new Map<string, bigint>();
  for (const target of targets) {
    const offsets = await admin.fetchTopicOffsets(target.dlqTopic);
    const partitions = offsets
      .map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }))
      .sort((a, b) => a.partition - b.partition);
    contents.set(target.dlqTopic, { target, partitions, records: [] });
    for (const p of partitions) if (p.high > p.low) remaining.set(`${target.dlqTopic}/${p.partition}`, p.high);
  }
  if (remaining.size > 0) await consumeUntil(kafka, admin, contents, remaining, logger, options.timeoutMs ?? 60_000);
  for (const dlq of contents.values()) {
    dlq.records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  }
  return [...contents.values()];
}

async function consumeUntil(
  kafka: Kafka,
  admin: Admin,
  contents: Map<string, DlqContents>,
  remaining: Map<string, bigint>,
  logger: Logger,
  timeoutMs: number,
): Promise<void> {
  const groupId = `dlq-tool-${randomUUID()}`;
  const consumer = createScanConsumer(kafka, groupId);
  const topicsToRead = [...new Set([...remaining.keys()].map((key) => key.slice(0, key.lastIndexOf('/'))))];
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: topicsToRead, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const id = `${batch.topic}/${batch.partition}`;
        const high = remaining.get(id);
        const dlq = contents.get(batch.topic);
        if (high === undefined || !dlq) return;
        for (const message of batch.messages) {
          if (BigInt(message.offset) < high) dlq.records.push(toRecord(dlq.target, batch.partition, message));
        }
        if (BigInt(batch.lastOffset()) >= high - 1n) {
          remaining.delete(id);
          if (remaining.size === 0) finish();
        }
      },
    });
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reading the DLQ timed out after ${timeoutMs} ms; unfinished: ${[...remaining.keys()].join(', ')}`)),
        timeoutMs,
      );
    });
    await Promise.race([finished, timedOut]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch((error: unknown) => logger.debug({ err: error, groupId }, 'throwaway group not deleted'));
  }
}

/** The messages of the selected DLQs that match `filter`, in (DLQ, partition, offset) order. */
export async function readMatching(
  kafka: Kafka,
  admin: Admin,
  targets: readonly DlqTarget[],
  filter: MessageFilter,
  logger: Logger,
): Promise<{ contents: DlqContents[]; selected: DlqRecord[] }> {
  requireProvisioned(targets, await existingTopics(admin, targets));
  const contents = await readDlqs(kafka, admin, targets, logger);
  return { contents, selected: contents.flatMap((dlq) => dlq.records.filter((record) => matches(record, filter))) };
}
