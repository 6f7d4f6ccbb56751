import type { DlqContext } from './context.js';
import type { MessageFilter } from './filter.js';
import { inspect, type InspectedMessage } from './inspect.js';
import { scanMatching } from './reader.js';
import type { DlqTarget } from './targets.js';

export interface ShowOptions {
  /** @defaultValue `{}` (every message) */
  filter?: MessageFilter;
  /**
   * At most this many messages, oldest offsets first; 0 = all.
   * @defaultValue 20
   */
  limit?: number;
  /**
   * Personal data (email fields, address-like text) in clear.
   * @defaultValue false
   */
  reveal?: boolean;
}

export interface ShowResult {
  /** How many messages matched the filter; more than `messages.length` when the limit cut it. */
  matched: number;
  messages: InspectedMessage[];
}

/** The matching messages of the selected DLQs, decoded (browse). */
export async function showMessages(context: DlqContext, targets: readonly DlqTarget[], options: ShowOptions = {}): Promise<ShowResult> {
  const { filter = {}, limit = 20, reveal = false } = options;
  // Only the shown ones are kept while the DLQ is read: a large DLQ is not held in memory.
  const { matched, selected } = await scanMatching(context.kafka, context.admin, targets, filter, context.logger, limit);
  const messages: InspectedMessage[] = [];
  for (const record of selected) messages.push(await inspect(context.serde, record, reveal));
  return { matched, messages };
}
