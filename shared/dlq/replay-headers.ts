import { HEADERS, parseCountHeader } from '../consumer/headers.js';
import type { IHeaders } from '../kafka/client.js';
import type { DlqRecord } from './reader.js';

/** The headers of a DLQ message, raw (as they are sent on) and as strings (as they are read). */
export type ReplaySource = Pick<DlqRecord, 'rawHeaders' | 'headers'>;

/** Replays a DLQ entry went through before it landed here again (`dlq-replays`; 0 when absent or garbled). */
export function replaysOf(record: Pick<DlqRecord, 'headers'>): number {
  return parseCountHeader(record.headers[HEADERS.replays]);
}

/**
 * The message as the group's first retry tier expects it: due now, with no failed attempts so the
 * runtime gives it a fresh set of them (it reads `retry-attempt` as failed deliveries so far), one
 * more replay counted, and key, value bytes and every other header (original-*, failure-*, event id)
 * unchanged.
 */
export function replayHeaders(record: ReplaySource, now = Date.now()): IHeaders {
  const headers: IHeaders = { ...record.rawHeaders };
  headers[HEADERS.attempt] = '0';
  headers[HEADERS.dueAt] = String(now);
  headers[HEADERS.replays] = String(replaysOf(record) + 1);
  delete headers[HEADERS.parked];
  return headers;
}
