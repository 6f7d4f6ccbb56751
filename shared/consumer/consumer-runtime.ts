import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from '../db.js';
import { PoisonPillError, isRetriable } from '../errors.js';
import {
  createIdempotentProducer,
  type Consumer,
  type EachBatchPayload,
  type Kafka,
  type KafkaMessage,
  type Producer,
} from '../kafka/client.js';
import { retryTopicName, type ConsumerGroupDeclaration, type TopicDeclaration } from '../kafka/topology.js';
import type { Logger } from '../logger.js';
import { consumedMessages, handlerSeconds } from '../metrics.js';
import type { AvroSerde } from '../registry/serde.js';
import { CommitPipeline } from './commit-pipeline.js';
import { FailureRouter, type Delivery } from './failure-router.js';
import { warnIfOversized } from './group-size.js';
import { HEADERS, headersToStrings } from './headers.js';
import { KeyOrder } from './key-order.js';
import { pruneProcessedEvents } from './processed-events.js';
import type { BatchHandler, EventFailure, EventHandler, InboundEvent } from './types.js';

export interface ConsumerRuntimeOptions {
  kafka: Kafka;
  serde: AvroSerde;
  logger: Logger;
  group: ConsumerGroupDeclaration;
  /**
   * The service's database. Required when the group declares `orderedRetries` (the per-key queues
   * live in PostgreSQL); when given, the group's old processed-event records are pruned hourly.
   */
  pool?: Pool;
  /**
   * Partitions this member handles at once (each still in offset order).
   * @defaultValue 1
   */
  partitionsConsumedConcurrently?: number;
  /**
   * Longest a fetch waits for data. kafkajs' 5 s default is latency at low volume.
   * @defaultValue 100
   */
  maxWaitTimeInMs?: number;
  /**
   * Most bytes one fetch returns per partition; bulk writers raise it for larger batches.
   * @defaultValue 1048576 (kafkajs' default)
   */
  maxBytesPerPartition?: number;
  /**
   * Most bytes one fetch returns in all.
   * @defaultValue 10485760 (kafkajs' default)
   */
  maxBytes?: number;
  /**
   * A member silent for this long is dropped from the group and its partitions move.
   * @defaultValue 30000
   */
  sessionTimeoutMs?: number;
  /**
   * Well inside the session timeout, so a member survives a lost heartbeat or two.
   * @defaultValue min(3000, sessionTimeoutMs / 3)
   */
  heartbeatIntervalMs?: number;
  /**
   * Inside a long batch, handled offsets are committed at most this often (and always at its end).
   * @defaultValue 1000
   */
  commitIntervalMs?: number;
  /**
   * Batch handlers only: keep fetching while up to this many handed-over events are still being
   * handled, and commit each partition's offsets as its batches complete, in order
   * (commit-pipeline.ts). Fetching then overlaps a bulk write instead of waiting for it; the
   * handler's calls overlap too, so it must be idempotent and must not need one call to finish
   * before the next begins.
   * @defaultValue undefined: each fetch waits until its batches are handled
   */
  maxUncommittedEvents?: number;
  /**
   * Called when the consumer crashed for good (kafkajs will not restart it).
   * @defaultValue stops the process: exit code 1 through its graceful shutdown
   */
  onFatal?: (error: unknown) => void;
  /**
   * How long stop() lets in-flight handlers finish before disconnecting anyway.
   * @defaultValue 25000
   */
  stopTimeoutMs?: number;
}

type Registration =
  | { kind: 'event'; source: TopicDeclaration; handle: EventHandler<unknown> }
  | { kind: 'batch'; source: TopicDeclaration; handle: BatchHandler<unknown> };

/** A physical topic the group reads: a source topic (tier 0) or one of its retry tiers. */
interface Route {
  registration: Registration;
  tier: number;
}

function stopProcess(): void {
  process.exitCode = 1;
  process.kill(process.pid, 'SIGTERM');
}

/** The topic (source or retry tier) and partition a fetched batch came from. */
interface BatchOrigin {
  readonly topic: string;
  readonly partition: number;
}

/**
 * An InboundEvent whose header-derived fields are read on first use: a bulk consumer touches only
 * `value` for almost every event, and building headers, ids and positions for each would cost more
 * than decoding it (and keep more objects alive until its batch is written).
 */
class DecodedEvent implements InboundEvent<unknown> {
  private cachedHeaders: Readonly<Record<string, string>> | undefined;
  private cachedEventId: string | undefined;
  private childLogger: Logger | undefined;

  constructor(
    readonly value: unknown,
    readonly topic: string,
    private readonly message: KafkaMessage,
    /** Shared by the events of one fetched batch. */
    private readonly from: BatchOrigin,
    private readonly parentLogger: Logger,
  ) {}

  /** Where to route this event if it fails. */
  get delivery(): Delivery {
    return { topic: this.from.topic, partition: this.from.partition, message: this.message };
  }

  get headers(): Readonly<Record<string, string>> {
    this.cachedHeaders ??= headersToStrings(this.message.headers);
    return this.cachedHeaders;
  }

  get key(): string | null {
    return this.message.key?.toString() ?? null;
  }

  get attempt(): number {
    return Number(this.headers[HEADERS.attempt] ?? 0) + 1;
  }

  get correlationId(): string | undefined {
    return this.headers[HEADERS.correlationId];
  }

  get deliveredFrom(): InboundEvent<unknown>['deliveredFrom'] {
    return { topic: this.from.topic, partition: this.from.partition, offset: this.message.offset };
  }

  get eventId(): string {
    this.cachedEventId ??= this.deriveEventId();
    return this.cachedEventId;
  }

  /** Built on first use: a child logger per message would cost more than the decoding. */
  get logger(): Logger {
    this.childLogger ??= this.parentLogger.child({ eventId: this.eventId, ...this.deliveredFrom });
    return this.childLogger;
  }

  private deriveEventId(): string {
    const { headers, value } = this;
    const valueEventId =
      typeof value === 'object' && value !== null && 'eventId' in value && typeof value.eventId === 'string' ? value.eventId : undefined;
    return (
      headers[HEADERS.eventId] ??
      valueEventId ??
      `${headers[HEADERS.originalTopic] ?? this.topic}:${headers[HEADERS.originalPartition] ?? this.from.partition}:${headers[HEADERS.originalOffset] ?? this.message.offset}`
    );
  }
}

/**
 * The one consumer loop of the pipeline. For a consumer group it reads the source topics and the
 * group's own retry topics, decodes Avro values, calls the handlers, and routes failures:
 * retriable errors through the retry tiers with exponential backoff (a retry topic's partition is
 * paused, never blocked, until its head is due), permanent errors and exhausted retries to the
 * group's DLQ, undecodable bytes (poison pills) to the DLQ at once. An offset is resolved, and so
 * committed, only after its message was handled or written to a retry topic or the DLQ.
 */
export class ConsumerRuntime {
  private readonly registrations = new Map<string, Registration>();
  private readonly routes = new Map<string, Route>();
  private readonly resumeTimers = new Set<NodeJS.Timeout>();
  private readonly logger: Logger;
  private readonly keyOrder: KeyOrder | undefined;
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  private router: FailureRouter | undefined;
  private pipeline: CommitPipeline | undefined;
  private stopping = false;
  private joined = false;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ConsumerRuntimeOptions) {
    this.logger = options.logger.child({ group: options.group.groupId });
    if (options.group.orderedRetries) {
      if (!options.pool) throw new Error(`${options.group.groupId}: ordered retries need a database pool`);
      this.keyOrder = new KeyOrder(options.pool, options.group.groupId);
    }
  }

  get groupId(): string {
    return this.options.group.groupId;
  }

  /** Handles each event of `topic` on its own. */
  on<T>(topic: TopicDeclaration<T>, handle: EventHandler<T>): this {
    return this.register({ kind: 'event', source: topic, handle: handle as EventHandler<unknown> });
  }

  /** Handles the events of `topic` a fetched batch at a time (bulk writers). */
  onBatch<T>(topic: TopicDeclaration<T>, handle: BatchHandler<T>): this {
    if (this.keyOrder) throw new Error(`${this.groupId}: batch handlers do not support ordered retries`);
    return this.register({ kind: 'batch', source: topic, handle: handle as BatchHandler<unknown> });
  }

  private register(registration: Registration): this {
    const { source } = registration;
    if (!this.options.group.topics.some((topic) => topic.name === source.name)) {
      throw new Error(`${this.groupId} does not declare ${source.name} (its contract)`);
    }
    this.registrations.set(source.name, registration);
    return this;
  }

  /** True once this member has joined its group: the readiness signal of a consumer service. */
  isReady(): boolean {
    return this.joined;
  }

  async start(): Promise<void> {
    if (this.registrations.size === 0) throw new Error(`${this.groupId}: no handlers registered`);
    const { kafka, group } = this.options;
    this.producer = createIdempotentProducer(kafka);
    this.router = new FailureRouter(this.producer, group);
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    this.consumer = kafka.consumer({
      groupId: group.groupId,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 100,
      maxBytesPerPartition: this.options.maxBytesPerPartition,
      maxBytes: this.options.maxBytes,
      sessionTimeout,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? Math.min(3000, Math.floor(sessionTimeout / 3)),
      allowAutoTopicCreation: false,
    });
    const consumer = this.consumer;
    if (this.options.maxUncommittedEvents !== undefined) {
      if ([...this.registrations.values()].some((registration) => registration.kind !== 'batch')) {
        throw new Error(`${this.groupId}: maxUncommittedEvents needs every handler to be a batch handler`);
      }
      this.pipeline = new CommitPipeline({
        commit: (offsets) => consumer.commitOffsets(offsets),
        seek: (offset) => consumer.seek(offset),
        maxUncommittedEvents: this.options.maxUncommittedEvents,
        logger: this.logger,
      });
    }
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      this.pipeline?.rebalanced();
      this.logger.info({ memberAssignment: payload.memberAssignment }, 'joined group');
      // A member beyond the partition count does no work: say so loudly (best effort, off the hot path).
      void warnIfOversized(kafka, this.consumer!, group, payload, this.logger).catch((error: unknown) =>
        this.logger.debug({ err: error }, 'group size check failed'),
      );
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.joined = false;
      this.logger.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
      // kafkajs gives up on non-retriable errors: a process that stays up but consumes nothing
      // would look healthy. Stop it (gracefully, exit code 1) so its supervisor restarts it.
      if (!payload.restart) (this.options.onFatal ?? stopProcess)(payload.error);
    });

    for (const registration of this.registrations.values()) {
      this.routes.set(registration.source.name, { registration, tier: 0 });
      for (let tier = 1; tier <= this.router.tiers; tier++) {
        this.routes.set(retryTopicName(registration.source, group.groupId, tier), { registration, tier });
      }
    }

    const { pool } = this.options;
    if (pool) {
      const prune = () =>
        pruneProcessedEvents(pool, group.groupId).then(
          (deleted) => deleted > 0 && this.logger.info({ deleted }, 'pruned old processed-event records'),
          (error: unknown) => this.logger.warn({ err: error }, 'pruning processed-event records failed'),
        );
      this.pruneTimer = setInterval(() => void prune(), 3600_000).unref();
    }
    await this.options.serde.verify();
    await this.producer.connect();
    await this.consumer.connect();
    // A new group starts at the earliest retained event: an event published before the group
    // first joined must still reach it.
    await this.consumer.subscribe({ topics: [...this.routes.keys()], fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatchAutoResolve: false,
      // With a pipeline, kafkajs' resolved offsets run ahead of the durable ones: it must commit nothing itself.
      autoCommit: !this.pipeline,
      autoCommitInterval: this.options.commitIntervalMs ?? 1000,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  /** Stops fetching, lets in-flight handlers finish (bounded), commits and disconnects. */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    for (const timer of this.resumeTimers) clearTimeout(timer);
    this.resumeTimers.clear();
    const bound = this.options.stopTimeoutMs ?? 25_000;
    const consumer = this.consumer;
    this.stopping = true;
    if (consumer && this.pipeline) {
      // Commits go through the running consumer: fetch nothing more, let what is in flight finish
      // and commit, then disconnect.
      try {
        consumer.pause([...this.routes.keys()].map((topic) => ({ topic })));
      } catch (error) {
        // Not running yet (start failed before run()): nothing was fetched, so nothing is in flight.
        this.logger.debug({ err: error }, 'pause before the drain skipped');
      }
      if (!(await this.pipeline.drain(bound))) this.logger.warn({ stopTimeoutMs: bound }, 'in-flight batches did not finish in time');
    }
    if (consumer) {
      const stopped = await Promise.race([consumer.disconnect().then(() => true), sleep(bound).then(() => false)]);
      if (!stopped) this.logger.warn({ stopTimeoutMs: bound }, 'in-flight work did not finish in time');
    }
    await this.producer?.disconnect();
    this.joined = false;
  }

  /** Metric children are looked up once per label set: label hashing per message adds up. */
  private readonly counters = new Map<string, ReturnType<typeof consumedMessages.labels>>();
  private readonly timers = new Map<string, ReturnType<typeof handlerSeconds.labels>>();

  private count(topic: string, outcome: 'processed' | 'retried' | 'parked' | 'dead_lettered' | 'poison', n = 1): void {
    const key = `${topic}/${outcome}`;
    let counter = this.counters.get(key);
    if (!counter) this.counters.set(key, (counter = consumedMessages.labels(this.groupId, topic, outcome)));
    counter.inc(n);
  }

  private handlerTimer(topic: string): ReturnType<typeof handlerSeconds.labels> {
    let timer = this.timers.get(topic);
    if (!timer) this.timers.set(topic, (timer = handlerSeconds.labels(this.groupId, topic)));
    return timer;
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const route = this.routes.get(batch.topic);
    if (!route) throw new Error(`no route for ${batch.topic}`);
    // Heartbeats keep flowing while a slow handler works, so the group does not rebalance. A failed
    // heartbeat (the group is rebalancing) ends the batch at the next message, as kafkajs would.
    let heartbeatFailure: unknown;
    const beat = setInterval(() => {
      payload.heartbeat().catch((error: unknown) => (heartbeatFailure ??= error));
    }, 1000);
    try {
      const due = this.dueMessages(payload, route);
      if (route.registration.kind === 'event') {
        for (const message of due) {
          if (heartbeatFailure) throw heartbeatFailure;
          if (!payload.isRunning() || payload.isStale()) break;
          await this.handleOne(route, route.registration, { topic: batch.topic, partition: batch.partition, message });
          payload.resolveOffset(message.offset);
          // Commits every second inside long batches too, so a crash redelivers little. (Heartbeats
          // come from the interval above, not per message.)
          await payload.commitOffsetsIfNecessary();
        }
      } else {
        await this.handleMany(payload, route, route.registration, due);
      }
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * The leading messages of the batch that may be handled now. On a retry topic the first message
   * not yet due pauses the partition until it is. Later messages of a tier are due at about the same
   * time or later (jitter can make one a little earlier): waiting for the head costs latency, never order.
   */
  private dueMessages(payload: EachBatchPayload, route: Route): KafkaMessage[] {
    if (route.tier === 0) return payload.batch.messages;
    const now = Date.now();
    const firstNotDue = payload.batch.messages.findIndex((message) => {
      const dueAt = Number(message.headers?.[HEADERS.dueAt]?.toString() ?? 0);
      return dueAt > now;
    });
    if (firstNotDue === -1) return payload.batch.messages;
    const waiting = payload.batch.messages[firstNotDue];
    const waitMs = Number(waiting?.headers?.[HEADERS.dueAt]?.toString() ?? 0) - now;
    const resume = payload.pause();
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer);
      resume();
    }, waitMs);
    this.resumeTimers.add(timer);
    return payload.batch.messages.slice(0, firstNotDue);
  }

  /** The event of a delivery; undefined for a poison pill, which is sent to the DLQ here. */
  private async decode(route: Route, delivery: Delivery): Promise<DecodedEvent | undefined> {
    const { source } = route.registration;
    const { message } = delivery;
    let value: unknown;
    try {
      value = await this.options.serde.decode(source, message.value);
    } catch (error) {
      if (!(error instanceof PoisonPillError)) throw error;
      const headers = headersToStrings(message.headers);
      await this.router!.deadLetter(source, delivery, Number(headers[HEADERS.attempt] ?? 0) + 1, error);
      // A queue head that turned undecodable must not block its key for ever.
      const key = message.key?.toString();
      const eventId = headers[HEADERS.eventId];
      if (this.keyOrder && key !== undefined && eventId !== undefined) await this.keyOrder.release(key, eventId);
      this.count(source.name, 'poison');
      this.logger.warn(
        { topic: delivery.topic, partition: delivery.partition, offset: message.offset, reason: error.reason, err: error },
        'poison pill sent to the DLQ',
      );
      return undefined;
    }
    return new DecodedEvent(value, source.name, message, delivery, this.logger);
  }

  /** decode() without a promise when the value's schema is known and its bytes are sound (the bulk path). */
  private decodeNow(route: Route, message: KafkaMessage, from: BatchOrigin): DecodedEvent | undefined {
    const { source } = route.registration;
    let value: unknown;
    try {
      value = this.options.serde.decodeCached(source, message.value);
    } catch {
      return undefined;
    }
    return value === undefined ? undefined : new DecodedEvent(value, source.name, message, from, this.logger);
  }

  private async handleOne(
    route: Route,
    registration: Extract<Registration, { kind: 'event' }>,
    delivery: Delivery,
  ): Promise<void> {
    const event = await this.decode(route, delivery);
    if (!event) return;
    const { source } = registration;
    const key = event.key;
    let head: string | undefined;
    if (this.keyOrder && key !== null) {
      head = await this.keyOrder.head(key);
      if (head !== undefined && head !== event.eventId) {
        // An earlier message of this key is in the retry path: follow it instead of overtaking it.
        await this.keyOrder.enqueue(key, event.eventId);
        await this.router!.retry(source, delivery, route.tier + 1, event.attempt - 1);
        this.count(source.name, 'parked');
        event.logger.info({ behind: head }, 'parked behind an earlier message of its key');
        return;
      }
    }
    const timer = this.handlerTimer(source.name).startTimer();
    try {
      await registration.handle(event);
    } catch (error) {
      timer();
      await this.routeFailure(route, { event, error }, delivery);
      return;
    }
    timer();
    this.count(source.name, 'processed');
    // The head of its key's queue (after a retry, or redelivered after a crash) unblocks the next.
    // Outside the try: a failed release must fail the batch, not count the handled event as failed.
    if (this.keyOrder && key !== null && head === event.eventId) await this.keyOrder.release(key, event.eventId);
  }

  private async routeFailure(route: Route, failure: EventFailure<unknown>, delivery: Delivery): Promise<void> {
    const { event, error } = failure;
    const { source } = route.registration;
    const router = this.router!;
    const key = event.key;
    if (!isRetriable(error) || event.attempt >= router.policy.attempts) {
      await router.deadLetter(source, delivery, event.attempt, error);
      if (this.keyOrder && key !== null) await this.keyOrder.release(key, event.eventId);
      this.count(source.name, 'dead_lettered');
      event.logger.error({ err: error, attempts: event.attempt }, 'sent to the DLQ');
      return;
    }
    if (this.keyOrder && key !== null) await this.keyOrder.enqueue(key, event.eventId);
    await router.retry(source, delivery, event.attempt, event.attempt, error);
    this.count(source.name, 'retried');
    event.logger.warn({ err: error, attempt: event.attempt }, 'failed; scheduled for retry');
  }

  private async handleMany(
    payload: EachBatchPayload,
    route: Route,
    registration: Extract<Registration, { kind: 'batch' }>,
    messages: KafkaMessage[],
  ): Promise<void> {
    const first = messages[0];
    const last = messages[messages.length - 1];
    if (!first || !last) return;
    const { batch } = payload;
    const pipeline = this.pipeline;
    if (!pipeline) {
      await this.completeMany(payload, route, registration, messages);
      payload.resolveOffset(last.offset);
      return;
    }
    await pipeline.admit();
    // Waiting for room may have outlived the assignment (rebalance) or the position (seek back).
    if (!payload.isRunning() || payload.isStale()) return;
    const work = this.completeMany(payload, route, registration, messages);
    pipeline.track(batch.topic, batch.partition, first.offset, last.offset, messages.length, work);
    // The fetch position moves on now; the commit waits for the work (see CommitPipeline).
    payload.resolveOffset(last.offset);
  }

  /** Decodes, hands the events to the handler and routes its failures; resolves when all of it is durable. */
  private async completeMany(
    payload: EachBatchPayload,
    route: Route,
    registration: Extract<Registration, { kind: 'batch' }>,
    messages: KafkaMessage[],
  ): Promise<void> {
    const { batch } = payload;
    const events: DecodedEvent[] = [];
    const from = { topic: batch.topic, partition: batch.partition };
    for (const message of messages) {
      // Anything unusual (a schema not fetched yet, a poison pill) takes the full path.
      const event = this.decodeNow(route, message, from) ?? (await this.decode(route, { ...from, message }));
      if (event) events.push(event);
    }
    const failures =
      events.length === 0
        ? []
        : await registration.handle(events, {
            heartbeat: () => payload.heartbeat(),
            isRunning: () => !this.stopping && payload.isRunning() && !payload.isStale(),
            logger: this.logger.child({ topic: batch.topic, partition: batch.partition }),
          });
    for (const failure of failures) {
      if (!(failure.event instanceof DecodedEvent)) throw new Error('a batch handler reported a failure for an event it was not given');
      await this.routeFailure(route, failure, failure.event.delivery);
    }
    const processed = events.length - failures.length;
    if (processed > 0) this.count(registration.source.name, 'processed', processed);
  }
}
