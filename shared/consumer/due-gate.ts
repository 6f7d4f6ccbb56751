import { HEADERS } from './headers.js';
import type { SourceMessage } from '../kafka/port.js';

/** The `retry-due-at` header of a message (epoch ms); 0 when it has none (due at once). */
export function retryDueAt(message: Pick<SourceMessage, 'headers'>): number {
  const value = message.headers?.[HEADERS.dueAt];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? 0 : Number(first.toString());
}

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface DueGateOptions<M> {
  /** When a message may be handled (epoch ms). */
  dueAt(message: M): number;
  /** @defaultValue Date.now */
  now?: () => number;
}

/** Pauses the messages' partition until `until` (epoch ms); returns the function that resumes it. */
export type PausePartition = (until: number) => () => void;

/**
 * Holds back messages that are not due yet without blocking anything: of a fetched batch, the
 * leading messages that are due may be handled now; at the first one not yet due the partition is
 * paused (the caller's pause function) and resumed when that head is due, and the messages from it
 * on come again with a later fetch. Later messages of a partition are due at about the same time or
 * later, so waiting for the head costs latency, never order. Used for retry tiers; delayed delivery
 * is the same mechanism. stop() cancels every pending resume.
 */
export class DueGate<M = SourceMessage> {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly options: DueGateOptions<M>) {}

  /**
   * The leading due messages of `messages`. When some are not due, `pause` is called and the
   * resume it returns is scheduled for the due time of the first message held back.
   */
  duePrefix(messages: readonly M[], pause: PausePartition): readonly M[] {
    const now = (this.options.now ?? Date.now)();
    let firstNotDue = -1;
    let until = 0;
    for (let i = 0; i < messages.length; i++) {
      const dueAt = this.options.dueAt(messages[i]!);
      if (dueAt > now) {
        firstNotDue = i;
        until = dueAt;
        break;
      }
    }
    if (firstNotDue === -1) return messages;
    this.pauseUntil(until, now, pause);
    return messages.slice(0, firstNotDue);
  }

  /** Cancels every scheduled resume (the consumer is stopping: its partitions stay paused). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Resumes scheduled and not yet run. */
  get pending(): number {
    return this.timers.size;
  }

  private pauseUntil(until: number, now: number, pause: PausePartition): void {
    const resume = pause(until);
    // Once stopped the partition stays paused: the consumer is leaving, the next owner reads it.
    if (this.stopped) return;
    // setTimeout fires at once past 2^31-1 ms (about 24.8 days), which would turn a far due time
    // into a pause/fetch busy loop: wait the longest it can, then the next fetch pauses again.
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      resume();
    }, Math.min(until - now, MAX_TIMER_MS));
    this.timers.add(timer);
  }
}
