/**
 * One error hierarchy for the whole pipeline. The consumer runtime reads `retriable` to choose the
 * path of a failed message: retriable errors go through the retry tiers, the others to the DLQ at once.
 * Errors that are not a PipelineError count as retriable: an unknown failure deserves another try.
 */
export abstract class PipelineError extends Error {
  abstract readonly retriable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A failure that may pass on its own: a timeout, an unavailable dependency, a lost lock. */
export class TransientError extends PipelineError {
  readonly retriable = true;
}

/** A failure that no retry can fix: invalid data, a broken invariant, a missing reference. */
export class PermanentError extends PipelineError {
  readonly retriable = false;
}

export interface ConfigProblem {
  variable: string;
  problem: string;
}

/** Start-up configuration is missing or malformed; the message names every offending variable. */
export class ConfigError extends PermanentError {
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
  constructor(
    readonly reason: PoisonPillReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isRetriable(error: unknown): boolean {
  return !(error instanceof PipelineError) || error.retriable;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
