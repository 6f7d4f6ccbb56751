import { PermanentError, TransientError, type ErrorCode } from '../errors.js';

/** Requests waiting for their reply are at the bound: the caller should come back later (503, Retry-After). */
export class RequestReplyOverloadedError extends TransientError {
  override readonly code: string = 'REQUEST_REPLY_OVERLOADED' satisfies ErrorCode;
  constructor(readonly inFlight: number) {
    super(`${inFlight} requests are waiting for their replies, the most allowed`);
  }
}

/** The reply consumer is not assigned yet (or not any more): a request sent now could lose its reply. */
export class ReplyConsumerNotReadyError extends TransientError {
  override readonly code: string = 'REPLY_CONSUMER_NOT_READY' satisfies ErrorCode;
  constructor() {
    super('the reply consumer is not assigned its partition yet');
  }
}

/**
 * What a replier's answer function throws for an answer that is an error: sent back as an error
 * reply with its code and status, so the caller gets a clear 4xx/5xx instead of a timeout.
 */
export class ReplyError extends PermanentError {
  constructor(
    override readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
