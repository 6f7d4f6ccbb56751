/**
 * The consumer runtime's own view of a Kafka client: a batch source and a publisher. The runtime
 * depends on these shapes only; client.ts adapts kafkajs to them, so another client can be put
 * (and benchmarked) behind the runtime without touching it. No kafkajs import here.
 */

/** Header values as a client hands them over: bytes, or strings on messages built in process. */
export type MessageHeaders = Record<string, Buffer | string | Array<Buffer | string> | undefined>;

/** One fetched message; the runtime reads these fields only. */
/**
 * Longest a fetch waits at the broker for data, for the consumer runtime and the tails. The broker
 * answers a waiting fetch as soon as data arrives, so this is not a new event's latency: it sets how
 * often an idle member fetches (most of the broker's idle CPU) and how long what waits for the fetch
 * in flight takes (a resumed partition, a rebalance, a stop). kafkajs' 5 s default makes those slow.
 */
export const defaultMaxWaitTimeInMs = 500;

export interface SourceMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: MessageHeaders;
  readonly offset: string;
  readonly timestamp: string;
}

/** The messages of one fetch for one topic-partition, in offset order. */
export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  /** The partition's end offset when fetched: how far behind the consumer is. */
  readonly highWatermark: string;
  readonly messages: readonly SourceMessage[];
}

/** What the runtime may do while handling one batch. */
export interface BatchControl {
  /** Marks `offset` handled: it is committed with the next (auto) commit. */
  resolveOffset(offset: string): void;
  /** Commits resolved offsets when the commit interval has passed. */
  commitOffsetsIfNecessary(): Promise<void>;
  /** Keeps the group membership alive; rejects when the group is rebalancing. */
  heartbeat(): Promise<void>;
  /** False once the source is stopping. */
  isRunning(): boolean;
  /** True once the batch's position was reset (rebalance, seek): its remaining messages are not ours to handle. */
  isStale(): boolean;
  /** Pauses fetching this batch's partition; returns the function that resumes it. */
  pause(): () => void;
}

export interface PartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read (Kafka's committed-offset convention): last handled + 1. */
  offset: string;
}

/** What a member learns when it (re)joins its group. */
export interface GroupJoin {
  isLeader: boolean;
  memberAssignment: Readonly<Record<string, readonly number[]>>;
}

export interface SourceCrash {
  error: unknown;
  /** False when the client gives up for good. */
  restart: boolean;
}

export interface BatchSourceOptions {
  groupId: string;
  maxWaitTimeInMs: number;
  maxBytesPerPartition?: number;
  maxBytes?: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
}

export interface BatchRunOptions {
  partitionsConsumedConcurrently: number;
  /** When false the source commits nothing itself: the runtime commits through commit(). */
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  /** Handles one batch; the next fetch of its partition waits for it. Offsets are resolved by the handler. */
  eachBatch(batch: SourceBatch, control: BatchControl): Promise<void>;
}

/** A consumer-group member that hands over fetched batches per topic-partition. */
export interface BatchSource {
  connect(): Promise<void>;
  /** Subscribes to the topics; a group without committed offsets starts at the earliest retained message. */
  subscribe(topics: readonly string[]): Promise<void>;
  run(options: BatchRunOptions): Promise<void>;
  commit(offsets: PartitionOffset[]): Promise<void>;
  /** Makes the source read a partition again from `offset`. */
  seek(offset: PartitionOffset): void;
  /** Stops fetching the topics (all their partitions); throws when not running. */
  pause(topics: readonly string[]): void;
  onJoined(listener: (join: GroupJoin) => void): void;
  onCrashed(listener: (crash: SourceCrash) => void): void;
  /** Members of the group now. */
  groupMembers(): Promise<number>;
  disconnect(): Promise<void>;
}

export interface OutboundMessage {
  key: Buffer | string | null;
  value: Buffer | null;
  headers?: MessageHeaders;
  /** @defaultValue the key's partition */
  partition?: number;
}

export interface TopicMessages {
  topic: string;
  messages: OutboundMessage[];
}

/**
 * An idempotent producer whose sends resolve once all in-sync replicas have the messages (acks = all).
 * A failed send may have been appended all the same (its answer lost): the caller sends the messages
 * again, so they may be on the topic twice, and every later send is appended. Sends run one at a time.
 */
export interface Publisher {
  connect(): Promise<void>;
  send(topic: string, messages: OutboundMessage[]): Promise<void>;
  /** Messages for several topics in one request. */
  sendBatch(batches: readonly TopicMessages[]): Promise<void>;
  /** Called when the connection to the brokers is lost (for readiness); sends reconnect by themselves. */
  onDisconnect(listener: () => void): void;
  disconnect(): Promise<void>;
}

export interface TailOptions {
  /** A group of its own: the tail is its only member, so it is assigned every partition. */
  groupId: string;
  topic: string;
  /** The one partition read; the others stay paused. */
  partition: number;
  /** @defaultValue 500 (defaultMaxWaitTimeInMs) */
  maxWaitTimeInMs?: number;
  /** Called for each message, in offset order; nothing waits for it. */
  onMessage(message: SourceMessage): void;
}

/**
 * One partition of a topic read from its end onwards: what is appended after start() began is
 * handed over, nothing older. Offsets are committed, so a rejoin (a broker restart) resumes where
 * the tail was instead of skipping to the end again.
 */
export interface Tail {
  /** Resolves once assigned and positioned: a message appended from now on reaches onMessage. */
  start(): Promise<void>;
  disconnect(): Promise<void>;
}

/** The client behind the runtime. */
export interface KafkaClient {
  batchSource(options: BatchSourceOptions): BatchSource;
  /** A reader of new messages on one partition (request-reply's reply consumer). */
  tail(options: TailOptions): Tail;
  publisher(): Publisher;
  /** Partition counts as the broker reports them, by topic. */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
  /**
   * True for an error of the client itself (a broker or coordinator gone, a commit refused). The
   * client recovers from those by restarting its consumer, which finds the new leaders and
   * coordinator; held as a dependency outage instead, the member would wait on the dead broker.
   */
  isClientError(error: unknown): boolean;
}
