import { randomInt, randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { KafkaClient, SourceMessage, Tail } from '../kafka/port.js';
import type { TopicDeclaration } from '../kafka/topology.js';
import { instanceId, type Logger } from '../logger.js';
import type { AvroSerde } from '../registry/serde.js';
import { retrying } from '../retry/retrying.js';
import { CoalescingSender } from './coalescing-sender.js';
import { ReplyConsumerNotReadyError } from './errors.js';
import { REQUEST_REPLY_HEADERS, encodeCorrelationId, encodeReplyPartition, readReplyEnvelope } from './headers.js';
import { PendingRequests } from './pending-requests.js';
import type { Outcome, Reply } from './reply.js';
import type { ResultStore } from './result-store.js';

/** What a requester reports, for its metrics. */
export interface RequesterObserver {
  inFlight?(count: number): void;
  timedOut?(): void;
  late?(): void;
  /** A reply that is not this requester's (another instance's on a shared partition, or older than it). */
  dropped?(): void;
}

export interface RequesterOptions<Req, Rep> {
  client: KafkaClient;
  serde: AvroSerde;
  logger: Logger;
  requestTopic: TopicDeclaration<Req>;
  replyTopic: TopicDeclaration<Rep>;
  /** The reply consumer's group is `<prefix>-<instance>-<start time>`: its own, new at every start. */
  replyGroupPrefix: string;
  /** Where late replies go; without it a late reply is only counted. */
  results?: ResultStore<Rep>;
  /**
   * How long request() waits for the reply before it answers 'timeout'.
   * @defaultValue 2000
   */
  timeoutMs?: number;
  /**
   * How long after its send a request is still worth answering (the request-deadline header): the
   * replier drops it later, and the result store waits for its late reply until then. Longer than a
   * replier's rebalance, so a request whose replier died is answered by the next one.
   * @defaultValue 60000
   */
  deadlineMs?: number;
  /**
   * Requests waiting at once; more are refused with RequestReplyOverloadedError.
   * @defaultValue 1000
   */
  maxInFlight?: number;
  observer?: RequesterObserver;
}

export interface RequestOptions {
  /** @defaultValue the requester's timeoutMs */
  timeoutMs?: number;
}

/**
 * The requesting side of request-reply over Kafka. Every instance reads replies from one partition
 * of the shared reply topic, chosen at random at start, in a consumer group of its own (kafkajs
 * cannot assign a partition by hand: shared/kafka/tail.ts), and names that partition in each
 * request's kafka_replyPartition header. Instances sharing a partition drop each other's replies:
 * a reply is matched by correlation id only, never by position. The reply consumer starts at the
 * partition's end, so old replies (a cold start over a full topic) are never read.
 */
export class Requester<Req, Rep> {
  private readonly pending: PendingRequests<Reply<Rep>>;
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly sender: CoalescingSender;
  private readonly publisher;
  private tail: Tail | undefined;
  private replyPartition: number | undefined;
  private assigned: Promise<void> | undefined;

  constructor(private readonly options: RequesterOptions<Req, Rep>) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.deadlineMs = options.deadlineMs ?? 60_000;
    this.logger = options.logger.child({ component: 'requester', requestTopic: options.requestTopic.name });
    this.pending = new PendingRequests({ maxInFlight: options.maxInFlight ?? 1000, onInFlight: (count) => options.observer?.inFlight?.(count) });
    this.publisher = options.client.publisher();
    this.sender = new CoalescingSender(this.publisher);
  }

  get inFlight(): number {
    return this.pending.inFlight;
  }

  /** True once the reply consumer reads its partition: a request sent now cannot miss its reply. */
  isReady(): boolean {
    return this.replyPartition !== undefined;
  }

  /** Starts the reply consumer in the background, retrying while Kafka is away; resolves once assigned. */
  start(): Promise<void> {
    this.assigned ??= retrying(() => this.startTail(), {
      signal: this.abort.signal,
      backoff: { initialMs: 500, maxMs: 10_000 },
      onWait: ({ error, delayMs }) => this.logger.warn({ err: error, retryInMs: delayMs }, 'reply consumer could not start; retrying'),
    });
    this.assigned.catch(() => undefined);
    return this.assigned;
  }

  /**
   * Sends `value` and waits for its reply. Throws RequestReplyOverloadedError at the in-flight bound,
   * ReplyConsumerNotReadyError when the reply consumer is not assigned within the timeout (the first
   * request waits for it), and the publisher's error when the send fails.
   */
  async request(key: string | null, value: Req, options: RequestOptions = {}): Promise<Outcome<Rep>> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const startedAt = Date.now();
    if (this.replyPartition === undefined) await this.waitForAssignment(timeoutMs);
    const correlationId = randomUUID();
    const deadline = startedAt + Math.max(this.deadlineMs, timeoutMs);
    const encoded = await this.options.serde.encode(this.options.requestTopic, value);
    const settled = this.pending.wait(correlationId, Math.max(1, timeoutMs - (Date.now() - startedAt)), deadline);
    try {
      await this.sender.send(this.options.requestTopic.name, {
        key: key ?? correlationId,
        value: encoded,
        headers: {
          [REQUEST_REPLY_HEADERS.correlationId]: encodeCorrelationId(correlationId),
          [REQUEST_REPLY_HEADERS.replyTopic]: this.options.replyTopic.name,
          [REQUEST_REPLY_HEADERS.replyPartition]: encodeReplyPartition(this.replyPartition!),
          [REQUEST_REPLY_HEADERS.deadline]: String(deadline),
        },
      });
    } catch (error) {
      this.pending.forget(correlationId);
      throw error;
    }
    const settlement = await settled;
    if (settlement.kind === 'reply') return { ...settlement.reply, correlationId };
    this.options.observer?.timedOut?.();
    // Before the caller hands out the id: from now on any instance can tell "pending" from "unknown".
    await this.options.results?.expect(correlationId, deadline);
    this.logger.info({ correlationId, timeoutMs }, 'no reply within the timeout; a late reply is kept');
    return { kind: 'timeout', correlationId };
  }

  /** Stops reading replies; requests still waiting end as timeouts (their late replies are lost with this instance). */
  async stop(): Promise<void> {
    this.abort.abort();
    this.pending.timeOutAll();
    await this.tail?.disconnect().catch(() => undefined);
    await this.publisher.disconnect().catch(() => undefined);
  }

  private async waitForAssignment(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ReplyConsumerNotReadyError()), timeoutMs);
    });
    try {
      await Promise.race([this.start(), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async startTail(): Promise<void> {
    const { client, replyTopic, replyGroupPrefix } = this.options;
    const partitions = (await client.partitionCounts([replyTopic.name])).get(replyTopic.name);
    if (!partitions) throw new Error(`reply topic ${replyTopic.name} does not exist`);
    const partition = randomInt(partitions);
    const groupId = `${replyGroupPrefix}-${instanceId}-${Date.now().toString(36)}`;
    await this.tail?.disconnect().catch(() => undefined);
    this.tail = client.tail({ groupId, topic: replyTopic.name, partition, onMessage: (message) => void this.onReply(message) });
    await this.publisher.connect();
    await this.tail.start();
    this.replyPartition = partition;
    this.logger.info({ groupId, replyTopic: replyTopic.name, partition }, 'reply consumer assigned');
  }

  private async onReply(message: SourceMessage): Promise<void> {
    const { correlationId, error } = readReplyEnvelope(message.headers);
    if (correlationId === undefined) {
      this.options.observer?.dropped?.();
      return;
    }
    let reply: Reply<Rep>;
    try {
      reply = error ? { kind: 'error', error } : { kind: 'answer', value: await this.options.serde.decode(this.options.replyTopic, message.value) };
    } catch (decodeError) {
      // Its request times out, and GET /requests/:id says pending until the deadline: a broken reply is no answer.
      this.logger.error({ correlationId, offset: message.offset, err: decodeError }, 'reply does not decode; dropped');
      return;
    }
    const match = this.pending.match(correlationId, reply);
    if (match === 'unknown') this.options.observer?.dropped?.();
    if (match !== 'late') return;
    this.options.observer?.late?.();
    const results = this.options.results;
    if (!results) return;
    try {
      await retrying(() => results.settle(correlationId, reply), { maxAttempts: 5, signal: this.abort.signal });
      this.logger.info({ correlationId }, 'late reply stored');
    } catch (storeError) {
      this.logger.error({ correlationId, error: errorMessage(storeError) }, 'late reply could not be stored');
    }
  }
}
