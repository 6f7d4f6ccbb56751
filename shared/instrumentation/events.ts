/**
 * The event feed: what the consumer runtime, the outbox relay and the batch writer report, on
 * `node:diagnostics_channel`. One closed list of channels with typed payloads; Prometheus metrics
 * (metrics.ts) are one subscriber, the operations dashboard will be another. Nothing may depend on
 * a subscriber being present: publishers check `active` first, so an unobserved feed costs a
 * property read, and busy paths report per batch rather than per event.
 */
import { channel, type Channel } from 'node:diagnostics_channel';

export const FEED_CHANNELS = {
  /** Events a handler completed, per fetched batch of a partition. */
  consumerProcessed: 'order-pipeline:consumer:processed',
  /** An event that failed and went to its next retry tier. */
  consumerRetried: 'order-pipeline:consumer:retried',
  /** An event set aside behind an earlier event of its key (ordered retries). */
  consumerParked: 'order-pipeline:consumer:parked',
  /** An event that failed for good and went to the group's DLQ. */
  consumerDeadLettered: 'order-pipeline:consumer:dead-lettered',
  /** A redelivered event its group had handled before, skipped without a second effect. */
  consumerDuplicate: 'order-pipeline:consumer:duplicate',
  /** Bytes that do not decode, sent to the DLQ at once. */
  consumerPoison: 'order-pipeline:consumer:poison',
  /** A queued event of an ordered-retries key unseen for too long, taken as lost and released so its key goes on. */
  consumerKeyHeadReleased: 'order-pipeline:consumer:key-head-released',
  /** A retry topic's partition paused until its head is due. */
  consumerPaused: 'order-pipeline:consumer:paused',
  /** A paused partition resumed (its head is due). */
  consumerResumed: 'order-pipeline:consumer:resumed',
  /** A partition held because a dependency is unavailable (its message is tried again later), or released. */
  consumerDependencyWait: 'order-pipeline:consumer:dependency-wait',
  /** Outbox rows published to Kafka (one relay round). */
  outboxPublished: 'order-pipeline:outbox:published',
  /** A relay round failed and will be retried. */
  outboxRelayFailed: 'order-pipeline:outbox:relay-failed',
  /** The relay's health, at most once a second: rows waiting, the oldest one's age, failed rounds in a row. */
  outboxBacklog: 'order-pipeline:outbox:backlog',
  /** An outbox row set aside because it can never be encoded. */
  outboxUnpublishable: 'order-pipeline:outbox:unpublishable',
  /** A bulk write committed. */
  batchFlushed: 'order-pipeline:batch:flushed',
  /** Rows the store rejected for their values, by where they go next. */
  batchRejected: 'order-pipeline:batch:rejected',
  /** The batch writer waits for its store (backpressure), or stopped waiting. */
  batchStalled: 'order-pipeline:batch:stalled',
} as const;

export type FeedChannelName = keyof typeof FEED_CHANNELS;

/** Where a consumer event came from. `topic` is the source topic; `deliveredFrom` the topic read (a retry tier). */
interface ConsumerPosition {
  group: string;
  topic: string;
  deliveredFrom: string;
  partition: number;
  offset: string;
}

export interface ConsumerProcessed extends ConsumerPosition {
  /** Events handled; `offset` is the last of them. */
  count: number;
  /** Seconds each handler call took (per-event handlers only; empty for batch handlers). */
  handlerSeconds: readonly number[];
}

/** One event that failed (or waits); `error*` are set where there is an error. */
export interface ConsumerFailure extends ConsumerPosition {
  eventId: string;
  attempt: number;
  errorClass?: string;
  /** The error's stable `code`, when it has one. */
  errorCode?: string;
}

export interface ConsumerDuplicate {
  group: string;
  topic: string;
  eventId: string;
}

export interface ConsumerKeyHeadReleased {
  group: string;
  /** A hash of the message key: keys may be personal data. */
  keyHash: string;
  eventId: string;
  /** How long its message had not been seen. */
  idleSeconds: number;
}

export interface ConsumerPartitionPaused {
  group: string;
  topic: string;
  partition: number;
  /** When the partition's head is due (epoch ms). */
  until: number;
}

export interface ConsumerPartitionResumed {
  group: string;
  topic: string;
  partition: number;
}

export interface ConsumerDependencyWait {
  group: string;
  topic: string;
  partition: number;
  /** True when the partition was paused for the outage, false when a message of it went through again. */
  paused: boolean;
  /** The group's partitions paused for an unavailable dependency now (in this process). */
  pausedPartitions: number;
  /** How long this pause lasts (0 when released). */
  delayMs: number;
  /** What said the dependency is unavailable (set when paused). */
  errorClass?: string;
  errorCode?: string;
}

export interface OutboxPublished {
  table: string;
  count: number;
}

export interface OutboxRelayFailed {
  table: string;
  errorClass: string;
  errorCode?: string;
}

export interface OutboxBacklog {
  table: string;
  /** Rows not yet published; undefined when the database could not be asked. */
  unsent?: number;
  /** Age of the oldest unsent row in seconds (0 without one); undefined when unknown. */
  oldestUnsentSeconds?: number;
  /** Relay rounds failed since the last one that succeeded. */
  consecutiveFailures: number;
}

export interface OutboxUnpublishable {
  table: string;
  outboxId: string;
  error: string;
}

/** Why a batch was flushed: it was full (rows or bytes), its oldest row had waited long enough, or the fetch's batches were all in. */
export type FlushReason = 'rows' | 'bytes' | 'wait' | 'idle';

export interface BatchFlushed {
  reason: FlushReason;
  rows: number;
  bytes: number;
  seconds: number;
  inserted: number;
  duplicates: number;
}

export interface BatchRejected {
  outcome: 'retried' | 'dead_lettered';
}

export interface BatchStalled {
  /** True while the writer waits for its store. */
  stalled: boolean;
  /** Seconds waited since the last report. */
  seconds: number;
}

export interface FeedPayloads {
  consumerProcessed: ConsumerProcessed;
  consumerRetried: ConsumerFailure;
  consumerParked: ConsumerFailure;
  consumerDeadLettered: ConsumerFailure;
  consumerDuplicate: ConsumerDuplicate;
  consumerPoison: ConsumerFailure;
  consumerKeyHeadReleased: ConsumerKeyHeadReleased;
  consumerPaused: ConsumerPartitionPaused;
  consumerResumed: ConsumerPartitionResumed;
  consumerDependencyWait: ConsumerDependencyWait;
  outboxPublished: OutboxPublished;
  outboxRelayFailed: OutboxRelayFailed;
  outboxBacklog: OutboxBacklog;
  outboxUnpublishable: OutboxUnpublishable;
  batchFlushed: BatchFlushed;
  batchRejected: BatchRejected;
  batchStalled: BatchStalled;
}

/** One typed channel of the feed. */
export class FeedChannel<T> {
  private readonly channel: Channel;

  constructor(readonly name: string) {
    this.channel = channel(name);
  }

  /** True while someone listens: build a payload only then. */
  get active(): boolean {
    return this.channel.hasSubscribers;
  }

  publish(payload: T): void {
    if (this.channel.hasSubscribers) this.channel.publish(payload);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (payload: T) => void): () => void {
    const onMessage = (message: unknown) => listener(message as T);
    this.channel.subscribe(onMessage);
    return () => void this.channel.unsubscribe(onMessage);
  }
}

export type Feed = { readonly [K in FeedChannelName]: FeedChannel<FeedPayloads[K]> };

/** The feed's channels (diagnostics_channel keeps one channel object per name: these are process-wide). */
export const feed: Feed = Object.fromEntries(
  Object.entries(FEED_CHANNELS).map(([key, name]) => [key, new FeedChannel(name)]),
) as unknown as Feed;

/** The class and the stable `code` of an error, for failure payloads. */
export function errorFields(error: unknown): { errorClass: string; errorCode?: string } {
  const errorClass = error instanceof Error ? error.name : typeof error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' ? { errorClass, errorCode: code } : { errorClass };
}
