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

/** A visitor of the records of a scan: called once per record, in offset order within a partition. */
export type RecordVisitor = (record: DlqRecord) => void;

/**
 * Reads each DLQ from its low to its high watermark as they are now (messages arriving meanwhile are
 * left for the next run), handing every record to `visit` as it arrives and keeping none: memory
 * stays bounded by a fetch, whatever the DLQ holds (list, show and replay keep only what they need).
 * Returns each DLQ's partition ranges with `records` left empty. kafkajs has no manual partition
 * assignment, so this joins a throwaway consumer group that never commits, and deletes it
 * afterwards so no junk groups pile up.
 */
export async function scanDlqs(
  kafka: Kafka,
  admin: Admin,
  targets: readonly DlqTarget[],
  logger: Logger,
  visit: RecordVisitor,
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
  if (remaining.size > 0) await consumeUntil(kafka, admin, contents, remaining, logger, visit, options.timeoutMs ?? 60_000);
  return [...contents.values()];
}

/** (DLQ in `targets` order, partition, offset): the order every result lists records in. */
export function recordOrder(targets: readonly DlqTarget[]): (a: DlqRecord, b: DlqRecord) => number {
  const rank = new Map(targets.map((target, i) => [target.dlqTopic, i]));
  return (a, b) =>
    (rank.get(a.target.dlqTopic) ?? 0) - (rank.get(b.target.dlqTopic) ?? 0) ||
    a.partition - b.partition ||
    Number(BigInt(a.offset) - BigInt(b.offset));
}

/**
 * Every record of each DLQ, in memory: only for purge, which must see whole partitions to cut a
 * prefix. Everything else scans (scanDlqs).
 */
export async function readDlqs(
  kafka: Kafka,
  admin: Admin,
  targets: readonly DlqTarget[],
  logger: Logger,
  options: ReadOptions = {},
): Promise<DlqContents[]> {
  const records = new Map<string, DlqRecord[]>();
  const contents = await scanDlqs(kafka, admin, targets, logger, (record) => {
    const list = records.get(record.target.dlqTopic) ?? [];
    list.push(record);
    records.set(record.target.dlqTopic, list);
  }, options);
  const order = recordOrder(targets);
  for (const dlq of contents) dlq.records = (records.get(dlq.target.dlqTopic) ?? []).sort(order);
  return contents;
}

async function consumeUntil(
  kafka: Kafka,
  admin: Admin,
  contents: Map<string, DlqContents>,
  remaining: Map<string, bigint>,
  logger: Logger,
  visit: RecordVisitor,
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
          if (BigInt(message.offset) < high) visit(toRecord(dlq.target, batch.partition, message));
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

/**
 * The messages of the selected DLQs that match `filter`, in (DLQ, partition, offset) order; only
 * those are kept (and, with `keep`, at most that many: the first in that order), however large the DLQ.
 */
export async function scanMatching(
  kafka: Kafka,
  admin: Admin,
  targets: readonly DlqTarget[],
  filter: MessageFilter,
  logger: Logger,
  keep = 0,
): Promise<{ matched: number; selected: DlqRecord[] }> {
  requireProvisioned(targets, await existingTopics(admin, targets));
  const first = new FirstRecords(recordOrder(targets), keep);
  await scanDlqs(kafka, admin, targets, logger, (record) => {
    if (matches(record, filter)) first.add(record);
  });
  return { matched: first.seen, selected: first.records() };
}

/**
 * The first `keep` records in `order` of those added (all of them when `keep` is 0), holding no
 * more than that while records arrive in any order.
 */
export class FirstRecords {
  private kept: DlqRecord[] = [];
  /** Records added, kept or not. */
  seen = 0;

  constructor(
    private readonly order: (a: DlqRecord, b: DlqRecord) => number,
    private readonly keep: number,
  ) {}

  add(record: DlqRecord): void {
    this.seen++;
    this.kept.push(record);
    // Trimmed once twice the bound is reached: amortised O(log n) per record, memory under 2 × keep.
    if (this.keep > 0 && this.kept.length >= 2 * this.keep) this.kept = this.kept.sort(this.order).slice(0, this.keep);
  }

  /** Records held right now (at most 2 × keep). */
  get held(): number {
    return this.kept.length;
  }

  records(): DlqRecord[] {
    const sorted = this.kept.sort(this.order);
    return this.keep > 0 ? sorted.slice(0, this.keep) : sorted;
  }
}

/** The messages of the selected DLQs that match `filter`, in (DLQ, partition, offset) order, with every record read (purge). */
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
