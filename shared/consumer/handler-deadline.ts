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

/** Where an event's signal comes from during and after a handler call. */
export interface CallSignal {
  readonly signal: AbortSignal;
}

/** An event whose signal the deadline provides for each call (inbound-event.ts's DecodedEvent). */
export interface DeadlineEvent<T> extends InboundEvent<T> {
  deadlineCall: CallSignal | undefined;
}

/**
 * A handler call in flight, for the watchdog. Its AbortController is made only when the handler
 * reads the signal: almost none does, and one per call cost more than a no-op handler's call.
 */
class Call implements CallSignal {
  /** Set when the deadline passed: the call was abandoned. */
  timedOut: HandlerTimeoutError | undefined;
  private controller: AbortController | undefined;
  private reject: ((error: unknown) => void) | undefined;
  /** Neighbours in the list of calls in flight. */
  previous: Call | undefined;
  next: Call | undefined;

  constructor(
    /** When the call began, on the deadline's clock (performance.now()). */
    readonly startedAt: number,
    public deadline: number,
    /** The event handled, or none for a batch handler (for the error message only). */
    readonly event: InboundEvent<unknown> | undefined,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      // Read only after the deadline passed: aborted already, as it would have been.
      if (this.timedOut) this.controller.abort(this.timedOut);
    }
    return this.controller.signal;
  }

  /** The call's outcome, or HandlerTimeoutError once timeOut() is called. */
  race<R>(work: Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.reject = reject;
      work.then(resolve, reject);
    });
  }

  timeOut(error: HandlerTimeoutError): void {
    this.timedOut = error;
    this.controller?.abort(error);
    // After an expiry the abandoned call may still settle: the promise is settled by then, and
    // its outcome is dropped.
    this.reject?.(error);
  }
}

/**
 * Runs every handler call under a deadline: the call gets an AbortSignal that aborts when the
 * deadline passes (one watchdog timer checks every call, to a tenth of the deadline) and its promise
 * then rejects, so a call that never settles (a socket to a frozen server, a lock that is never
 * released) cannot hold its partition, and with
 * `partitionsConsumedConcurrently` of them the whole member, for ever. Each settled call counts as
 * progress for the member's liveness.
 *
 * It is on the hot path, once per message: a call costs a small object, a promise and two clock
 * reads, which also time it for the handler metrics; no closure that outlives it and no
 * AbortController unless the handler reads its signal. Its clock is performance.now(): monotonic,
 * and what the handler timings need.
 */
export class HandlerDeadline {
  /**
   * Calls in flight, newest first; one watchdog timer checks them all (a timer per call costs more
   * than the call). A linked list: a Set's add and delete cost a tenth of a no-op handler's message.
   */
  private calls: Call | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** For abandoned calls that settle late (rare: made once, not per call). */
  private readonly progress = () => this.liveness.progress();

  constructor(
    readonly timeoutMs: number,
    private readonly liveness: Liveness,
  ) {}

  /**
   * Calls an event handler with the event's signal set; rejects with HandlerTimeoutError past the
   * deadline. `timings`, when given, gets the call's duration in seconds (until it settled or was
   * abandoned): the deadline reads the clock at both ends anyway, and two more reads per message
   * cost about 8 % of the runtime's throughput (npm run bench:hot-path).
   */
  event<T>(handle: (event: InboundEvent<T>) => Promise<void>, event: DeadlineEvent<T>, timings?: number[]): Promise<void> {
    const call = this.begin(event);
    event.deadlineCall = call;
    let work: Promise<void>;
    try {
      work = handle(event);
    } catch (error) {
      work = Promise.reject(error);
    }
    return this.outcome(call, work, timings);
  }

  /**
   * Calls a batch handler with a context carrying the signal. A batch handler that waits on purpose
   * (e.g. for its store during an outage) heartbeats: each heartbeat extends its deadline.
   */
  batch<R>(handle: (context: BatchContext) => Promise<R>, context: Omit<BatchContext, 'signal'>): Promise<R> {
    const call = this.begin(undefined);
    const extend = () => {
      if (!call.timedOut) call.deadline = performance.now() + this.timeoutMs;
      this.liveness.progress();
    };
    let work: Promise<R>;
    try {
      work = handle({
        ...context,
        get signal() {
          return call.signal;
        },
        heartbeat: () => {
          extend();
          return context.heartbeat();
        },
      });
    } catch (error) {
      work = Promise.reject(error);
    }
    return this.outcome(call, work);
  }

  private begin(event: InboundEvent<unknown> | undefined): Call {
    const now = performance.now();
    const call = new Call(now, now + this.timeoutMs, event);
    call.next = this.calls;
    if (this.calls) this.calls.previous = call;
    this.calls = call;
    this.watchdog ??= setInterval(() => this.expireOverdue(), Math.max(10, Math.min(1000, this.timeoutMs / 10))).unref();
    return call;
  }

  private async outcome<R>(call: Call, work: Promise<R>, timings?: number[]): Promise<R> {
    try {
      return await call.race(work);
    } finally {
      this.unlink(call);
      const now = performance.now();
      timings?.push((now - call.startedAt) / 1000);
      // A settled call is progress; an abandoned one only once it settles, if ever.
      if (call.timedOut) work.then(this.progress, this.progress);
      else this.liveness.progress(now);
    }
  }

  /** Takes a call off the list; a call taken off already (expired) stays off. */
  private unlink(call: Call): void {
    const { previous, next } = call;
    if (previous) previous.next = next;
    else if (this.calls === call) this.calls = next;
    if (next) next.previous = previous;
    call.previous = call.next = undefined;
  }

  private expireOverdue(): void {
    const now = performance.now();
    for (let call = this.calls; call; ) {
      const next = call.next;
      if (call.deadline <= now) this.expire(call);
      call = next;
    }
    if (!this.calls) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }

  private expire(call: Call): void {
    this.unlink(call);
    const what = call.event ? `handler of event ${call.event.eventId}` : 'batch handler';
    call.timeOut(new HandlerTimeoutError(`${what} did not settle within ${this.timeoutMs} ms: abandoned`));
  }
}
