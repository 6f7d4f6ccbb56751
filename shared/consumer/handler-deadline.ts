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

/** A handler call in flight, for the watchdog. */
interface Call {
  deadline: number;
  readonly controller: AbortController;
  readonly what: () => string;
  expire(error: HandlerTimeoutError): void;
}

/**
 * Runs every handler call under a deadline: the call gets an AbortSignal that aborts when the
 * deadline passes (one watchdog timer checks every call, to a tenth of the deadline) and its promise
 * then rejects, so a call that never settles (a socket to a frozen server, a lock that is never
 * released) cannot hold its partition, and with
 * `partitionsConsumedConcurrently` of them the whole member, for ever. Each settled call counts as
 * progress for the member's liveness.
 */
export class HandlerDeadline {
  /** Calls in flight; one watchdog timer checks them all (a timer per call costs more than the call). */
  private readonly calls = new Set<Call>();
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    readonly timeoutMs: number,
    private readonly liveness: Liveness,
  ) {}

  /** Calls an event handler with the event's signal set; rejects with HandlerTimeoutError past the deadline. */
  event<T>(handle: (event: InboundEvent<T>) => Promise<void>, event: DeadlineEvent<T>): Promise<void> {
    return this.run(
      () => `handler of event ${event.eventId}`,
      (signal) => {
        event.signal = signal;
        return handle(event);
      },
    );
  }

  /**
   * Calls a batch handler with a context carrying the signal. A batch handler that waits on purpose
   * (e.g. for its store during an outage) heartbeats: each heartbeat extends its deadline.
   */
  batch<R>(handle: (context: BatchContext) => Promise<R>, context: Omit<BatchContext, 'signal'>): Promise<R> {
    return this.run(
      () => 'batch handler',
      (signal, extend) =>
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

  private run<R>(what: () => string, call: (signal: AbortSignal, extend: () => void) => Promise<R>): Promise<R> {
    const controller = new AbortController();
    return new Promise<R>((resolve, reject) => {
      const entry: Call = { deadline: Date.now() + this.timeoutMs, controller, what, expire: reject };
      this.watch(entry);
      const extend = () => {
        if (!controller.signal.aborted) entry.deadline = Date.now() + this.timeoutMs;
        this.liveness.progress();
      };
      const settled = () => {
        this.calls.delete(entry);
        this.liveness.progress();
      };
      let work: Promise<R>;
      try {
        work = call(controller.signal, extend);
      } catch (error) {
        work = Promise.reject(error);
      }
      // After an expiry the abandoned call may still settle: the promise is settled by then, and
      // its outcome is dropped.
      work.then(
        (value) => {
          settled();
          resolve(value);
        },
        (error: unknown) => {
          settled();
          reject(error);
        },
      );
    });
  }

  private watch(entry: Call): void {
    this.calls.add(entry);
    this.watchdog ??= setInterval(() => this.expireOverdue(), Math.max(10, Math.min(1000, this.timeoutMs / 10))).unref();
  }

  private expireOverdue(): void {
    const now = Date.now();
    for (const entry of this.calls) {
      if (entry.deadline > now) continue;
      this.calls.delete(entry);
      const error = new HandlerTimeoutError(`${entry.what()} did not settle within ${this.timeoutMs} ms: abandoned`);
      entry.controller.abort(error);
      entry.expire(error);
    }
    if (this.calls.size === 0) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }
}
