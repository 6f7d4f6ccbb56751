import { DependencyUnavailableError, PipelineError } from '../../shared/errors.js';

/** The stable codes of batch ingestion's error classes (see errorCodes in shared/errors.ts). */
export const batchIngestionErrorCodes = ['STORE_UNAVAILABLE', 'ROW_REJECTED', 'FLUSH_ABANDONED'] as const;
export type BatchIngestionErrorCode = (typeof batchIngestionErrorCodes)[number];

/**
 * The analytics store cannot take writes right now: unreachable, timing out, restarting, or failing
 * for a reason that is not the data's fault. The batcher holds the batch and retries with backoff
 * (consumption pauses meanwhile); such rows never become failures, so an outage sends nothing to
 * the retry topics or the DLQ. A DependencyUnavailableError, though the batcher waits inside its bulk
 * write rather than letting the runtime hold the partitions (shared/consumer/dependency-outage.ts):
 * one flush carries every partition's rows and, with the commit pipeline, its eachBatch calls have
 * returned long before it fails.
 */
export class StoreUnavailableError extends DependencyUnavailableError {
  override readonly code: string = 'STORE_UNAVAILABLE' satisfies BatchIngestionErrorCode;

  constructor(
    message: string,
    options?: { cause?: unknown },
    /** PostgreSQL's SQLSTATE when the server answered with an error (none for a connection failure). */
    readonly sqlState?: string,
  ) {
    super(message, options);
  }
}

/**
 * PostgreSQL rejected a row because of its values (SQLSTATE class 22 data exception or 23 integrity
 * violation). Retriable on purpose: the row is valid Avro and is judged by the store's current DDL,
 * which can change (a widened column, a relaxed CHECK, a new event type); the group's bounded retry
 * tiers give such a fix a chance at almost no cost (the partition keeps flowing), and the DLQ then
 * keeps the row with the database's reason in its error headers.
 */
export class RowRejectedError extends PipelineError {
  readonly retriable = true;
  readonly code: string = 'ROW_REJECTED' satisfies BatchIngestionErrorCode;

  constructor(
    readonly sqlState: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
