import type { DlqContext } from './context.js';
import { existingTopics, readDlqs, type DlqRecord } from './reader.js';
import { isoOrDash, renderTable } from './render.js';
import type { DlqTarget } from './selection.js';

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
}

function errorClasses(records: readonly DlqRecord[]): DlqSummary['errorClasses'] {
  const counts = new Map<string, number>();
  for (const record of records) {
    const errorClass = record.errorClass ?? '(none)';
    counts.set(errorClass, (counts.get(errorClass) ?? 0) + 1);
  }
  return [...counts.entries()]
    .map(([errorClass, count]) => ({ errorClass, count }))
    .sort((a, b) => b.count - a.count || a.errorClass.localeCompare(b.errorClass));
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
      errorClasses: errorClasses(records),
    };
  });
}

const topClasses = 3;

export function renderList(summaries: readonly DlqSummary[]): string {
  const rows = summaries.map((s) => [
    s.group,
    s.sourceTopic,
    s.provisioned ? String(s.count) : 'not provisioned',
    s.oldest ?? '-',
    s.errorClasses
      .slice(0, topClasses)
      .map((e) => `${e.errorClass} x${e.count}`)
      .join(', ') + (s.errorClasses.length > topClasses ? ', ...' : ''),
    s.dlqTopic,
  ]);
  return renderTable(['GROUP', 'SOURCE TOPIC', 'MESSAGES', 'OLDEST', 'TOP ERROR CLASSES', 'DLQ TOPIC'], rows);
}
