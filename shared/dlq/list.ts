import type { DlqContext } from './context.js';
import { existingTopics, scanDlqs, type DlqRecord } from './reader.js';
import type { DlqTarget } from './targets.js';

export interface DlqSummary {
  group: string;
  sourceTopic: string;
  dlqTopic: string;
  /** False when the DLQ topic does not exist on the broker. */
  provisioned: boolean;
  count: number;
  /** When the oldest message still in the DLQ was dead-lettered. */
  oldest: string | null;
  newest: string | null;
  /** Most frequent first. */
  errorClasses: Array<{ errorClass: string; count: number }>;
  /** The same by error code, most frequent first; `(none)` for dead letters older than the header. */
  errorCodes: Array<{ errorCode: string; count: number }>;
}

function isoOrDash(epochMs: number): string {
  return Number.isNaN(epochMs) ? '-' : new Date(epochMs).toISOString();
}

function sortedCounts(counts: ReadonlyMap<string, number>): Array<{ value: string; count: number }> {
  return [...counts.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
}

/** One DLQ's summary, accumulated record by record: nothing of a record is kept. */
export class SummaryTally {
  count = 0;
  oldest = Infinity;
  newest = -Infinity;
  readonly errorClasses = new Map<string, number>();
  readonly errorCodes = new Map<string, number>();

  add(record: Pick<DlqRecord, 'timestamp' | 'errorClass' | 'errorCode'>): void {
    this.count++;
    this.oldest = Math.min(this.oldest, record.timestamp);
    this.newest = Math.max(this.newest, record.timestamp);
    const errorClass = record.errorClass ?? '(none)';
    const errorCode = record.errorCode ?? '(none)';
    this.errorClasses.set(errorClass, (this.errorClasses.get(errorClass) ?? 0) + 1);
    this.errorCodes.set(errorCode, (this.errorCodes.get(errorCode) ?? 0) + 1);
  }
}

export async function listDlqs(context: DlqContext, targets: readonly DlqTarget[]): Promise<DlqSummary[]> {
  const present = await existingTopics(context.admin, targets);
  const tallies = new Map(targets.map((target) => [target.dlqTopic, new SummaryTally()]));
  // Scanned, not read into memory: a DLQ of any size is counted in a fetch's memory.
  await scanDlqs(
    context.kafka,
    context.admin,
    targets.filter((target) => present.has(target.dlqTopic)),
    context.logger,
    (record) => tallies.get(record.target.dlqTopic)?.add(record),
  );
  return targets.map((target) => {
    const tally = tallies.get(target.dlqTopic)!;
    // A NaN timestamp makes Math.min/max NaN, shown as '-' as before.
    return {
      group: target.group.groupId,
      sourceTopic: target.source.name,
      dlqTopic: target.dlqTopic,
      provisioned: present.has(target.dlqTopic),
      count: tally.count,
      oldest: tally.count > 0 ? isoOrDash(tally.oldest) : null,
      newest: tally.count > 0 ? isoOrDash(tally.newest) : null,
      errorClasses: sortedCounts(tally.errorClasses).map(({ value, count }) => ({ errorClass: value, count })),
      errorCodes: sortedCounts(tally.errorCodes).map(({ value, count }) => ({ errorCode: value, count })),
    };
  });
}
