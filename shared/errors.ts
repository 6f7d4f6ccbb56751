/**
 * The stable codes of the platform's error classes, one per class. A dead letter carries its error's
 * code (header `failure-error-code`), so operators select on it and class names may change freely.
 * Closed: a new platform error class adds its code here; a service lists its own beside its classes
 * (e.g. services/batch-ingestion/errors.ts). `UNCLASSIFIED` is what anything else thrown gets.
 */
export const errorCodes = [
  'TRANSIENT',
  'DEPENDENCY_UNAVAILABLE',
  'PERMANENT',
  'CONFIG_INVALID',
  'POISON_PILL',
  'POLL_TIMEOUT',
  'HANDLER_TIMEOUT',
  'SERVICE_DEFINITION',
  'LEASE_LOST',
  'REQUEST_REPLY_OVERLOADED',
  'REPLY_CONSUMER_NOT_READY',
  'VALUE_RELEASED',
  'UNCLASSIFIED',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/** The code of a failure that is not a PipelineError: a TypeError, a driver's error, a thrown string. */
export const unclassifiedErrorCode = 'UNCLASSIFIED' satisfies ErrorCode;

/**
 * One error hierarchy for the whole pipeline. The consumer runtime reads `retriable` to choose the
 * path of a failed message: retriable errors go through the retry tiers, the others to the DLQ at once.
 * Errors that are not a PipelineError count as retriable: an unknown failure deserves another try.
 */
export abstract class PipelineError extends Error {
  abstract readonly retriable: boolean;
  /** Stable across renames; from a closed list beside the class (a subclass without its own shares its parent's). */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A failure that may pass on its own: a timeout, an unavailable dependency, a lost lock. */
export class TransientError extends PipelineError {
  readonly retriable = true;
  readonly code: string = 'TRANSIENT' satisfies ErrorCode;
}

/**
 * A system the work needs (a database, a mail server) cannot be used right now: refused, reset,
 * timing out, shutting down. Not the message's fault, so it spends none of the message's attempts:
 * the consumer runtime holds the partition and tries the same message again with backoff until the
 * dependency answers (shared/consumer/dependency-outage.ts). shared/dependency-unavailable.ts
 * recognises the drivers' own errors of this kind.
 */
export class DependencyUnavailableError extends TransientError {
  override readonly code: string = 'DEPENDENCY_UNAVAILABLE' satisfies ErrorCode;
}

/** A failure that no retry can fix: invalid data, a broken invariant, a missing reference. */
export class PermanentError extends PipelineError {
  readonly retriable = false;
  readonly code: string = 'PERMANENT' satisfies ErrorCode;
}

export interface ConfigProblem {
  variable: string;
  problem: string;
}

/** Start-up configuration is missing or malformed; the message names every offending variable. */
export class ConfigError extends PermanentError {
  override readonly code: string = 'CONFIG_INVALID' satisfies ErrorCode;

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.problem}`).join('\n')}`,
    );
  }
}

export const poisonPillReasons = ['not-framed', 'unknown-schema', 'invalid-value'] as const;
export type PoisonPillReason = (typeof poisonPillReasons)[number];

/** Bytes that can never be decoded into the topic's schema; retrying them cannot help. */
export class PoisonPillError extends PermanentError {
  override readonly code: string = 'POISON_PILL' satisfies ErrorCode;

  constructor(
    readonly reason: PoisonPillReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A handler read an event's value after releasing it (releaseValue): a bug in the handler, not the event's fault, but no retry fixes it. */
export class ValueReleasedError extends PermanentError {
  override readonly code: string = 'VALUE_RELEASED' satisfies ErrorCode;
}

export function isRetriable(error: unknown): boolean {
  return !(error instanceof PipelineError) || error.retriable;
}

/** The code a failure is recorded under: its own, or `UNCLASSIFIED` for what is not a PipelineError. */
export function errorCode(error: unknown): string {
  return error instanceof PipelineError ? error.code : unclassifiedErrorCode;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
