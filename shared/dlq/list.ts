import type { DlqContext } from './context.js';
import { existingTopics, readDlqs, type DlqRecord } from './reader.js';
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

function countBy(records: readonly DlqRecord[], field: (record: DlqRecord) => string | undefined): Array<{ value: string; count: number }> {
  const counts = new Map<string, number>();
  for (const record of records) {
    const value = field(record) ?? '(none)';
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
}

/** Per group and source topic: how many dead letters wait, since when, and why. */
export async function listDlqs(context: DlqContext, targets: readonly DlqTarget[]): Promise<DlqSummary[]> {
  const present = await existingTopics(context.admin, targets);
  const contents = await readDlqs(
    context.kafka,
    context.admin,
    targets.filter((target) => present.has(target.dlqTopic)),
    context.logger,
  );
  return targets.map((target) => {
    const records = contents.find((dlq) => dlq.target.dlqTopic === target.dlqTopic)?.records ?? [];
    const times = records.map((record) => record.timestamp);
    return {
      group: target.group.groupId,
      sourceTopic: target.source.name,
      dlqTopic: target.dlqTopic,
      provisioned: present.has(target.dlqTopic),
      count: records.length,
      // reduce, not Math.min(...times): a large DLQ would overflow the argument list.
      oldest: times.length > 0 ? isoOrDash(times.reduce((a, b) => Math.min(a, b))) : null,
      newest: times.length > 0 ? isoOrDash(times.reduce((a, b) => Math.max(a, b))) : null,
      errorClasses: countBy(records, (record) => record.errorClass).map(({ value, count }) => ({ errorClass: value, count })),
      errorCodes: countBy(records, (record) => record.errorCode).map(({ value, count }) => ({ errorCode: value, count })),
    };
  });
}
