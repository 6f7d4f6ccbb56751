import { isDependencyUnavailable } from '../dependency-unavailable.js';
import { errorFields, feed } from '../instrumentation/events.js';
import type { BatchControl, SourceBatch } from '../kafka/port.js';
import type { Logger } from '../logger.js';
import { Backoff, type BackoffOptions } from '../retry/backoff.js';

/** How long a held partition waits before its message is tried again, unless the runtime is told otherwise. */
export const defaultDependencyBackoff: Readonly<BackoffOptions> = { initialMs: 1000, maxMs: 15_000, factor: 2, jitter: 0.2 };

export interface DependencyOutageOptions {
  group: string;
  logger: Logger;
  /** Errors of the Kafka client are its own to recover from (KafkaClient.isClientError), never held. */
  isClientError: (error: unknown) => boolean;
  /** @defaultValue defaultDependencyBackoff: 1 s doubling to 15 s, less up to a fifth at random */
  backoff?: BackoffOptions;
}

/** A partition whose message failed because a dependency is unavailable. */
interface Held {
  readonly topic: string;
  readonly partition: number;
  readonly backoff: Backoff;
  readonly since: number;
  tries: number;
  /** The pending resume, while the partition is paused. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * Rides out an unavailable dependency (a database, a mail server) without spending the attempts of
 * the messages that meet it. When handling a batch fails with such an error (isDependencyUnavailable),
 * the batch ends at the message that met it, unresolved, and its partition is paused; after a backoff
 * (growing per failed try, capped) it is resumed and the client fetches from that same message again,
 * which keeps order and counts no attempt (a batch handler that throws it, or reports it for one of
 * its events, gets its whole batch again, as for any throw). The first batch of the partition that goes through again
 * ends the outage for it. Nothing blocks meanwhile: the batch returns at once, so the client keeps
 * heartbeating and fetching the other partitions, and the group does not rebalance.
 * Reported on the feed (consumerDependencyWait) and in the log: a warning when a partition is first
 * held, one line when it goes through again.
 */
export class DependencyOutage {
  private readonly held = new Map<string, Held>();
  /** Every pending resume, also of partitions forgotten on a rebalance, so that stop() cancels them all. */
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly backoff: BackoffOptions;
  private stopped = false;

  constructor(private readonly options: DependencyOutageOptions) {
    this.backoff = options.backoff ?? defaultDependencyBackoff;
  }

  /** Whether `error` means a dependency is unavailable rather than that the message failed. */
  holds(error: unknown): boolean {
    return isDependencyUnavailable(error) && !this.options.isClientError(error);
  }

  /** Partitions held now: paused, or resumed and not yet through again. */
  get heldPartitions(): number {
    return this.held.size;
  }

  /** Pauses the batch's partition for the next backoff; its first unresolved message is fetched again after it. */
  hold(batch: Pick<SourceBatch, 'topic' | 'partition'>, control: Pick<BatchControl, 'pause'>, error: unknown): void {
    const { topic, partition } = batch;
    const key = `${topic}\u0000${partition}`;
    let held = this.held.get(key);
    if (!held) {
      held = { topic, partition, backoff: new Backoff(this.backoff), since: Date.now(), tries: 0, timer: undefined };
      this.held.set(key, held);
    }
    held.tries++;
    const delayMs = held.backoff.next();
    const resume = control.pause();
    const log = held.tries === 1 ? 'warn' : 'debug';
    this.options.logger[log]({ err: error, topic, partition, delayMs, tries: held.tries }, 'dependency unavailable: partition paused, its message is tried again after a backoff');
    this.report(topic, partition, true, delayMs, error);
    // Once stopped the partition stays paused: the consumer is leaving, the next owner reads it.
    if (this.stopped) return;
    const current = held;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (current.timer === timer) current.timer = undefined;
      resume();
    }, delayMs);
    current.timer = timer;
    this.timers.add(timer);
  }

  /** A batch of the partition was handled: if it was held, the dependency answers again. */
  passed(batch: Pick<SourceBatch, 'topic' | 'partition'>): void {
    if (this.held.size === 0) return;
    const { topic, partition } = batch;
    const key = `${topic}\u0000${partition}`;
    const held = this.held.get(key);
    // A batch fetched before the pause may still end after it: only a resumed partition is through.
    if (!held || held.timer) return;
    this.held.delete(key);
    this.options.logger.info({ topic, partition, tries: held.tries, heldMs: Date.now() - held.since }, 'dependency available again: partition goes on');
    this.report(topic, partition, false, 0, undefined);
  }

  /**
   * The group rebalanced: a held partition may belong to another member now, which holds it itself
   * if the dependency is still away (as this member does again for those it kept). Pending resumes
   * still run: resuming a partition that is not assigned does nothing.
   */
  rebalanced(): void {
    const held = [...this.held.values()];
    this.held.clear();
    for (const { topic, partition } of held) this.report(topic, partition, false, 0, undefined);
  }

  /** Cancels every pending resume (the consumer is stopping: its partitions stay paused). */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private report(topic: string, partition: number, paused: boolean, delayMs: number, error: unknown): void {
    if (!feed.consumerDependencyWait.active) return;
    feed.consumerDependencyWait.publish({
      group: this.options.group,
      topic,
      partition,
      paused,
      pausedPartitions: this.held.size,
      delayMs,
      ...(error === undefined ? {} : errorFields(error)),
    });
  }
}
