import { RequestReplyOverloadedError } from './errors.js';

/** How a request ended for its caller. */
export type Settlement<R> = { kind: 'reply'; reply: R } | { kind: 'timeout' };

interface Pending<R> {
  settle: (settlement: Settlement<R>) => void;
  timer: NodeJS.Timeout;
}

export interface PendingRequestsOptions {
  /** Requests waiting at once; one more is refused (RequestReplyOverloadedError). */
  maxInFlight: number;
  /** Told when the number waiting changes (the in-flight gauge). */
  onInFlight?: (inFlight: number) => void;
}

/** What became of a reply handed to the registry. */
export type ReplyMatch = 'settled' | 'late' | 'unknown';

/**
 * The requests of one requester waiting for their replies, by correlation id: bounded, each with
 * its own timeout. A request that timed out is remembered until its deadline, so its reply, when it
 * comes, is recognised as late (and stored) rather than taken for someone else's; a reply for an id
 * neither waiting nor timed out is not this requester's (or older than it) and is dropped. Each
 * request settles once: a second reply for it is 'unknown' or 'late' again, never a second answer.
 */
export class PendingRequests<R> {
  private readonly waiting = new Map<string, Pending<R>>();
  /** Timed-out ids → their deadline (epoch ms); swept as they pass. */
  private readonly timedOut = new Map<string, number>();
  private sweptAt = Date.now();

  constructor(private readonly options: PendingRequestsOptions) {}

  get inFlight(): number {
    return this.waiting.size;
  }

  /**
   * Waits for the reply to `correlationId`, or `timeoutMs`. Throws RequestReplyOverloadedError at
   * the bound, before anything is registered. `deadline` bounds how long a late reply is recognised.
   */
  wait(correlationId: string, timeoutMs: number, deadline: number): Promise<Settlement<R>> {
    if (this.waiting.size >= this.options.maxInFlight) throw new RequestReplyOverloadedError(this.waiting.size);
    if (this.waiting.has(correlationId)) throw new Error(`correlation id ${correlationId} is already waiting`);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationId);
        this.timedOut.set(correlationId, deadline);
        this.changed();
        this.sweep();
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      this.waiting.set(correlationId, { settle: resolve, timer });
      this.changed();
    });
  }

  /** Hands a reply to its waiting request. */
  match(correlationId: string, reply: R): ReplyMatch {
    const pending = this.waiting.get(correlationId);
    if (pending) {
      this.waiting.delete(correlationId);
      clearTimeout(pending.timer);
      this.changed();
      pending.settle({ kind: 'reply', reply });
      return 'settled';
    }
    this.sweep();
    // Deleted: a second copy of a late reply is not late again.
    return this.timedOut.delete(correlationId) ? 'late' : 'unknown';
  }

  /** Ends a request whose send failed: nothing will answer it. */
  forget(correlationId: string): void {
    const pending = this.waiting.get(correlationId);
    if (!pending) return;
    this.waiting.delete(correlationId);
    clearTimeout(pending.timer);
    this.changed();
  }

  /** Every waiting request times out now (the requester stops). */
  timeOutAll(): void {
    for (const [id, pending] of this.waiting) {
      clearTimeout(pending.timer);
      pending.settle({ kind: 'timeout' });
      this.waiting.delete(id);
    }
    this.changed();
  }

  /** Timed-out ids past their deadline are forgotten, at most once a second. */
  private sweep(): void {
    const now = Date.now();
    if (now - this.sweptAt < 1000) return;
    this.sweptAt = now;
    for (const [id, deadline] of this.timedOut) if (deadline < now) this.timedOut.delete(id);
  }

  private changed(): void {
    this.options.onInFlight?.(this.waiting.size);
  }
}
