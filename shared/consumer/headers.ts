import type { MessageHeaders } from '../kafka/port.js';

/** Header names the pipeline reads and writes; one closed list. */
export const HEADERS = {
  eventId: 'event-id',
  correlationId: 'correlation-id',
  /** Failed deliveries so far; the next delivery is attempt + 1. */
  attempt: 'retry-attempt',
  /** Epoch ms before which a retry topic's message must not be processed. */
  dueAt: 'retry-due-at',
  /** Set on a message that waits behind an earlier message of its key (ordered retries). */
  parked: 'retry-parked',
  originalTopic: 'original-topic',
  originalPartition: 'original-partition',
  originalOffset: 'original-offset',
  originalTimestamp: 'original-timestamp',
  consumerGroup: 'failure-consumer-group',
  firstFailureAt: 'failure-first-at',
  lastFailureAt: 'failure-last-at',
  errorClass: 'failure-error-class',
  /** The error's stable code (shared/errors.ts); the class name is kept beside it for older readers. */
  errorCode: 'failure-error-code',
  errorMessage: 'failure-error-message',
  errorStack: 'failure-error-stack',
  instance: 'failure-instance',
  /** Counts `dlq replay` runs of a message, so a message that keeps failing is not replayed in a loop. */
  replays: 'dlq-replays',
} as const;

export type HeaderName = (typeof HEADERS)[keyof typeof HEADERS];

/** Header values as strings (the first value of a repeated header); absent values are left out. */
export function headersToStrings(headers: MessageHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) result[name] = first.toString();
  }
  return result;
}

/**
 * A count header (`retry-attempt`, `dlq-replays`) as a number: a non-negative safe integer written
 * in decimal digits, and 0 for anything else (absent, empty, `abc`, `-3`, `2.5`, `1e3`). Headers
 * come from any producer; `Number()` on them gave retry topic names such as `…retry.NaN`.
 */
export function parseCountHeader(value: string | undefined): number {
  if (value === undefined || !/^[0-9]+$/.test(value)) return 0;
  const count = Number(value);
  return Number.isSafeInteger(count) ? count : 0;
}

/**
 * Deliveries that failed before this one: read from a retry tier's `retry-attempt` (strictly), and 0
 * for a delivery from the source topic, whatever it carries (a producer's stray or hostile header
 * must not skip retries or name a retry topic that does not exist).
 */
export function failedAttempts(headers: Readonly<Record<string, string | undefined>>, fromSourceTopic: boolean): number {
  return fromSourceTopic ? 0 : parseCountHeader(headers[HEADERS.attempt]);
}

/** The failure history the runtime writes (retry-*, original-*, failure-*): only retry tiers may carry it in. */
const failureHistory = /^(retry-|original-|failure-)/;

/** A source-topic delivery's headers without a failure history it cannot have earned. */
export function withoutFailureHistory(headers: Record<string, string>): Record<string, string> {
  for (const name of Object.keys(headers)) if (failureHistory.test(name)) delete headers[name];
  return headers;
}
