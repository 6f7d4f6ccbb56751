/**
 * What `npm run dlq` prints: plain-text tables for people, `--json` for scripts (through `toJson`).
 * The operations themselves live in shared/dlq and return data; this only shapes it.
 */
import type { DlqSummary, InspectedMessage, PurgeResult, ReplayDecision, ReplayResult, ShowResult } from '../../shared/dlq/index.js';

/** A plain-text table: a header, a rule and left-aligned columns. */
export function renderTable(columns: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** JSON with bigints as strings and bytes as hex, which JSON.stringify cannot do on its own. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, field: unknown) => {
      if (typeof field === 'bigint') return field.toString();
      if (field !== null && typeof field === 'object' && 'type' in field && field.type === 'Buffer' && 'data' in field && Array.isArray(field.data)) {
        return Buffer.from(field.data as number[]).toString('hex');
      }
      return field;
    },
    2,
  );
}

/** Indents every line of a multi-line text (stack traces, pretty JSON) under a label. */
export function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
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

/** Time headers hold epoch ms; a person reads them better as dates. */
function readableTime(name: string, value: string): string {
  return /(-at|-timestamp)$/.test(name) && /^\d{12,}$/.test(value) ? ` (${new Date(Number(value)).toISOString()})` : '';
}

function renderMessage(message: InspectedMessage): string {
  const lines = [
    `${message.dlqTopic}  partition ${message.partition}  offset ${message.offset}  (dead-lettered ${message.dlqTimestamp})`,
    `  group:   ${message.group}`,
    `  key:     ${message.key ?? '(null)'}`,
    `  error:   ${message.errorClass ?? '(none)'}: ${message.errorMessage ?? ''}`,
    `  code:    ${message.errorCode ?? '(none)'}`,
    `  attempts ${message.attempts}, replays ${message.replays}`,
    '  headers:',
    ...Object.entries(message.headers)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => (value.includes('\n') ? `    ${name}:\n${indent(value, '      ')}` : `    ${name}: ${value}${readableTime(name, value)}`)),
  ];
  if (message.undecodable) {
    const u = message.undecodable;
    lines.push(
      `  value: UNDECODABLE (${u.reason}): ${u.message}`,
      `    ${u.bytes} bytes; first ${Math.min(u.bytes, 64)}:`,
      `    hex:  ${u.hex}`,
      `    utf8: ${u.utf8}`,
    );
  } else {
    lines.push('  value:', indent(toJson(message.value)));
  }
  return lines.join('\n');
}

export function renderShow(result: ShowResult, reveal: boolean): string {
  if (result.matched === 0) return 'no matching messages';
  const footer = [
    `${result.messages.length} of ${result.matched} matching message(s) shown` +
      (result.messages.length < result.matched ? ' (raise --limit to see more)' : ''),
  ];
  if (!reveal) footer.push('personal data (email) redacted; --reveal shows it');
  return [...result.messages.map(renderMessage), footer.join('\n')].join('\n\n');
}

const decisionText: Record<ReplayDecision, string> = {
  replay: 'replay',
  'replayed-before': 'skip: replayed before (--force to repeat)',
  'max-replays': 'REFUSED: max replays reached (--force to override)',
  'over-limit': 'skip: over --limit',
};

export function renderReplay(result: ReplayResult): string {
  if (result.plans.length === 0) return 'no matching messages; nothing replayed';
  const rows = result.plans.flatMap((plan) =>
    plan.items.map((item) => [
      plan.group,
      String(item.partition),
      item.offset,
      item.key ?? '(null)',
      item.errorClass ?? '-',
      item.errorCode ?? '-',
      String(item.replays),
      decisionText[item.decision],
    ]),
  );
  const table = renderTable(['GROUP', 'PARTITION', 'OFFSET', 'KEY', 'ERROR CLASS', 'ERROR CODE', 'REPLAYS', 'ACTION'], rows);
  const targets = result.plans.map((plan) => `  ${plan.dlqTopic} -> ${plan.targetTopic}`).join('\n');
  const wouldSend = result.plans.reduce((sum, plan) => sum + plan.items.filter((i) => i.decision === 'replay').length, 0);
  const summary = result.dryRun
    ? `dry run: ${wouldSend} message(s) would be replayed; nothing was sent or recorded`
    : `${result.sent} message(s) replayed` +
      (result.plans.some((p) => p.operationId) ? ` (operation ${result.plans.map((p) => p.operationId).filter(Boolean).join(', ')})` : '');
  const guards = [
    result.refused > 0 ? `${result.refused} refused: already replayed the maximum number of times and failed again (--force overrides)` : '',
    result.replayedBefore > 0 ? `${result.replayedBefore} skipped: replayed before` : '',
  ].filter(Boolean);
  return [table, '', 'into:', targets, '', summary, ...guards].join('\n');
}

export function renderPurge(result: PurgeResult): string {
  if (result.status === 'nothing-selected') return 'no matching messages; nothing purged';
  const rows = result.plans.flatMap((plan) =>
    plan.partitions.map((p) => [plan.group, plan.sourceTopic, String(p.partition), `${p.from}..${BigInt(p.upTo) - 1n}`, String(p.count)]),
  );
  const table = renderTable(['GROUP', 'SOURCE TOPIC', 'PARTITION', 'OFFSETS', 'MESSAGES'], rows);
  const summary = {
    'dry-run': `dry run: ${result.count} message(s) would be deleted; nothing was changed`,
    'needs-confirmation': `${result.count} message(s) would be deleted for good; nothing was changed. Add --yes to delete them.`,
    purged: `${result.count} message(s) deleted (operation ${result.plans.map((p) => p.operationId).join(', ')})`,
  }[result.status];
  return `${table}\n\n${summary}`;
}
