import type { DlqContext } from './context.js';
import { inspect, type InspectedMessage } from './inspect.js';
import { readMatching } from './reader.js';
import { indent, toJson } from './render.js';
import type { DlqTarget, MessageFilter } from './selection.js';

export interface ShowOptions {
  filter: MessageFilter;
  /** At most this many messages, oldest offsets first; 0 = all. */
  limit: number;
  /** Print personal data (email fields) in clear. */
  reveal: boolean;
}

export interface ShowResult {
  /** How many messages matched the filter; more than `messages.length` when the limit cut it. */
  matched: number;
  messages: InspectedMessage[];
}

export async function showMessages(context: DlqContext, targets: readonly DlqTarget[], options: ShowOptions): Promise<ShowResult> {
  const { selected } = await readMatching(context.kafka, context.admin, targets, options.filter, context.logger);
  const shown = options.limit > 0 ? selected.slice(0, options.limit) : selected;
  const messages: InspectedMessage[] = [];
  for (const record of shown) messages.push(await inspect(context.serde, record, options.reveal));
  return { matched: selected.length, messages };
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
