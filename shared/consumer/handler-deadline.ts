import { TransientError, type ErrorCode } from '../errors.js';
import type { Liveness } from './liveness.js';
import type { BatchContext, InboundEvent } from './types.js';

/**
 * A handler call outlived its deadline. The delivery takes its retry path like any transient
 * failure; the call itself is abandoned (its signal aborted), since a promise cannot be cancelled.
 */
export class HandlerTimeoutError extends TransientError {
  override readonly code: string = 'HANDLER_TIMEOUT' satisfies ErrorCode;
}

/** An event whose signal the deadline sets for each call (inbound-event.ts's DecodedEvent). */
export interface DeadlineEvent<T> extends InboundEvent<T> {
  signal: AbortSignal;
}

/**
 * Runs every handler call under a deadline: the call gets an AbortSignal that aborts when the
 * deadline passes, and the call's promise is raced against it, so a call that never settles (a
 * socket to a frozen server, a lock that is never released) cannot hold its partition, and with
 * `partitionsConsumedConcurrently` of them the whole member, for ever. Each settled call counts as
 * progress for the member's liveness.
 */
export class HandlerDeadline {
  constructor(
    readonly timeoutMs: number,
    private readonly liveness: Liveness,
  ) {}

  /** Calls an event handler with the event's signal set; rejects with HandlerTimeoutError past the deadline. */
  event<T>(handle: (event: InboundEvent<T>) => Promise<void>, event: DeadlineEvent<T>): Promise<void> {
    return this.run(`handler of event ${event.eventId}`, (signal) => {
      event.signal = signal;
      return handle(event);
    });
  }

  /**
   * Calls a batch handler with a context carrying the signal. A batch handler that waits on purpose
   * (e.g. for its store during an outage) heartbeats: each heartbeat extends its deadline.
   */
  batch<R>(handle: (context: BatchContext) => Promise<R>, context: Omit<BatchContext, 'signal'>): Promise<R> {
    return this.run('batch handler', (signal, extend) =>
      handle({
        ...context,
        signal,
        heartbeat: () => {
          extend();
          return context.heartbeat();
        },
      }),
    );
  }

  private async run<R>(what: string, call: (signal: AbortSignal, extend: () => void) => Promise<R>): Promise<R> {
    const controller = new AbortController();
    let expire: (error: HandlerTimeoutError) => void = () => undefined;
    const expired = new Promise<never>((_, reject) => (expire = reject));
    const onTimeout = () => {
      const error = new HandlerTimeoutError(`${what} did not settle within ${this.timeoutMs} ms: abandoned`);
      controller.abort(error);
      expire(error);
    };
    const timer = setTimeout(onTimeout, this.timeoutMs);
    const extend = () => {
      if (!controller.signal.aborted) timer.refresh();
      this.liveness.progress();
    };
    const work = Promise.resolve().then(() => call(controller.signal, extend));
    // An abandoned call may still reject later: nobody is listening by then.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
      this.liveness.progress();
    }
  }
}
