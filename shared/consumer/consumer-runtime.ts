import { feed } from '../instrumentation/events.js';
import { resolvesWithin } from '../resolves-within.js';
import type { BatchControl, BatchSource, Publisher, SourceBatch, SourceMessage } from '../kafka/port.js';
import { retryPolicyOf, retryTopicName, type TopicDeclaration } from '../kafka/topology.js';
import type { Logger } from '../logger.js';
import { BatchPath, PipelinedBatchPath } from './batch-path.js';
import { CommitPipeline } from './commit-pipeline.js';
import { DependencyOutage } from './dependency-outage.js';
import { DueGate, retryDueAt } from './due-gate.js';
import { EventDecoder } from './event-decoder.js';
import { EventPath } from './event-path.js';
import { FailureRouter } from './failure-router.js';
import { Failures } from './failures.js';
import { warnIfOversized } from './group-size.js';
import { HandlerDeadline } from './handler-deadline.js';
import { BatchHeartbeat } from './heartbeat.js';
import { Liveness } from './liveness.js';
import { KeyOrder, staleKeyHeadMs } from './key-order.js';
import { resolveOptions, validateHandlers, type ConsumerRuntimeOptions, type ResolvedOptions } from './options.js';
import { pruneProcessedEvents } from './processed-events.js';
import type { ConsumePath, Registration, Route } from './route.js';
import type { BatchHandler, EventHandler } from './types.js';

export type { ConsumerRuntimeOptions } from './options.js';

/**
 * The one consumer loop of the pipeline. For a consumer group it reads the source topics and the
 * group's own retry topics, decodes Avro values, calls the handlers, and routes failures:
 * retriable errors through the retry tiers with exponential backoff (a retry topic's partition is
 * paused, never blocked, until its head is due: due-gate.ts), permanent errors and exhausted
 * retries to the group's DLQ, undecodable bytes (poison pills) to the DLQ at once (failures.ts). An
 * offset is resolved, and so committed, only after its message was handled or written to a retry
 * topic or the DLQ. A failure that says a dependency is unavailable spends no attempt: the partition
 * is paused and the same message tried again with backoff (dependency-outage.ts). Each topic's path
 * (per event, per batch, pipelined batch) is picked at start. It talks to Kafka through its port
 * (kafka/port.ts) and reports what happens on the event feed (instrumentation/events.ts).
 */
export class ConsumerRuntime {
  private readonly registrations = new Map<string, Registration>();
  private readonly routes = new Map<string, Route>();
  private readonly options: ResolvedOptions;
  private readonly logger: Logger;
  private readonly keyOrder: KeyOrder | undefined;
  /** Per start: a stopped gate keeps its partitions paused for good. */
  private gate = new DueGate<SourceMessage>({ dueAt: retryDueAt });
  /** Per start, as the gate: a stopped one leaves its partitions paused. */
  private outage: DependencyOutage;
  private readonly liveness: Liveness;
  private readonly deadline: HandlerDeadline;
  private stallReported = false;
  private source: BatchSource | undefined;
  private publisher: Publisher | undefined;
  private pipeline: CommitPipeline | undefined;
  /** True from stop() until the next start(): batch handlers and a pending start see it. */
  private stopping = false;
  private starting: Promise<void> | undefined;
  private joined = false;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(options: ConsumerRuntimeOptions) {
    this.options = resolveOptions(options);
    this.logger = options.logger.child({ group: options.group.groupId });
    if (options.group.orderedRetries) {
      this.keyOrder = new KeyOrder(options.pool!, options.group.groupId, { staleAfterMs: staleKeyHeadMs(retryPolicyOf(options.group)), logger: this.logger });
    }
    // Several deadlines: each stuck call has been abandoned by then, so what is left is stuck elsewhere.
    this.liveness = new Liveness(3 * this.options.handlerTimeoutMs);
    this.deadline = new HandlerDeadline(this.options.handlerTimeoutMs, this.liveness);
    this.outage = this.newOutage();
  }

  private newOutage(): DependencyOutage {
    const { group, client, dependencyBackoff } = this.options;
    return new DependencyOutage({ group: group.groupId, logger: this.logger, backoff: dependencyBackoff, isClientError: (error) => client.isClientError(error) });
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

  /**
   * False while this member holds fetched work but has completed nothing for 3 handler deadlines:
   * its heartbeats keep its partitions while nothing is consumed, which a restart ends. The
   * liveness signal of a consumer service (/healthz).
   */
  isLive(): boolean {
    const live = this.liveness.isLive();
    if (!live && !this.stallReported) {
      this.logger.error({ stalledForMs: this.liveness.stalledForMs(), handlerTimeoutMs: this.options.handlerTimeoutMs }, 'consumer stalled: work in flight, nothing completed');
    }
    this.stallReported = !live;
    return live;
  }

  /**
   * Connects, subscribes and joins the group; resolves once this member consumes. A runtime whose
   * start failed is stopped and may be started again (the kit's background consumer does). A stop()
   * meanwhile ends the start early: it then resolves without consuming.
   */
  async start(): Promise<void> {
    this.stopping = false;
    this.gate = new DueGate<SourceMessage>({ dueAt: retryDueAt });
    this.outage = this.newOutage();
    const starting = this.connectAndRun();
    this.starting = starting;
    try {
      await starting;
    } finally {
      if (this.starting === starting) this.starting = undefined;
    }
  }

  private async connectAndRun(): Promise<void> {
    const { options } = this;
    const { client, group } = options;
    validateHandlers(options, [...this.registrations.values()].map((registration) => registration.kind));
    this.publisher = client.publisher();
    const router = new FailureRouter(this.publisher, group);
    const source = client.batchSource({
      groupId: group.groupId,
      maxWaitTimeInMs: options.maxWaitTimeInMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxBytes: options.maxBytes,
      sessionTimeoutMs: options.sessionTimeoutMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
    });
    this.source = source;
    this.pipeline = undefined;
    if (options.maxUncommittedEvents !== undefined) {
      this.pipeline = new CommitPipeline({
        commit: (offsets) => source.commit(offsets),
        seek: (offset) => source.seek(offset),
        maxUncommittedEvents: options.maxUncommittedEvents,
        logger: this.logger,
      });
    }
    this.routeTopics(router);
    source.onJoined((join) => {
      this.joined = true;
      this.pipeline?.rebalanced();
      this.keyOrder?.joined();
      this.outage.rebalanced();
      this.logger.info({ memberAssignment: join.memberAssignment }, 'joined group');
      // A member beyond the partition count does no work: say so loudly (best effort, off the hot path).
      void warnIfOversized(client, source, group, join, this.logger).catch((error: unknown) =>
        this.logger.debug({ err: error }, 'group size check failed'),
      );
    });
    source.onCrashed(({ error, restart }) => {
      this.joined = false;
      this.logger.error({ err: error, restart }, 'consumer crashed');
      // kafkajs gives up on non-retriable errors: a process that stays up but consumes nothing
      // would look healthy. Stop it (gracefully, exit code 1) so its supervisor restarts it.
      if (!restart) options.onFatal(error);
    });
    this.schedulePruning();

    // Each step can take long (a broker or registry that does not answer): a stop() meanwhile
    // ends the start before the next one, so the stop's disconnect is the last word.
    await options.serde.verify();
    if (this.stopping) return;
    await this.publisher.connect();
    if (this.stopping) return;
    await source.connect();
    if (this.stopping) return;
    // A new group starts at the earliest retained event: an event published before the group
    // first joined must still reach it.
    await source.subscribe([...this.routes.keys()]);
    if (this.stopping) return;
    await source.run({
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
      // With a pipeline, the client's resolved offsets run ahead of the durable ones: it must commit nothing itself.
      autoCommit: !this.pipeline,
      autoCommitIntervalMs: options.commitIntervalMs,
      eachBatch: (batch, control) => this.consume(batch, control),
    });
  }

  /**
   * Stops fetching, lets in-flight handlers finish, commits and disconnects (leaving the group), all
   * within `timeoutMs` (a service kit passes its share of the process's shutdown bound). A start in
   * progress is waited for first, inside the same bound: a member that is joining leaves once
   * joined instead of staying in the group until its session expires.
   */
  async stop(timeoutMs = this.options.stopTimeoutMs): Promise<void> {
    const bound = timeoutMs;
    const deadline = Date.now() + bound;
    const left = () => Math.max(0, deadline - Date.now());
    this.stopping = true;
    clearInterval(this.pruneTimer);
    this.gate.stop();
    this.outage.stop();
    // A failed start is the caller's to report; here it only means there is nothing to wait for.
    if (this.starting && !(await resolvesWithin(this.starting.catch(() => undefined), left()))) {
      this.logger.warn({ stopTimeoutMs: bound }, 'start still in progress at the stop deadline');
    }
    const source = this.source;
    if (source && this.pipeline) {
      // Commits go through the running consumer: fetch nothing more, let what is in flight finish
      // and commit, then disconnect.
      try {
        source.pause([...this.routes.keys()]);
      } catch (error) {
        // Not running yet (start failed before run()): nothing was fetched, so nothing is in flight.
        this.logger.debug({ err: error }, 'pause before the drain skipped');
      }
      if (!(await this.pipeline.drain(left()))) this.logger.warn({ stopTimeoutMs: bound }, 'in-flight batches did not finish in time');
    }
    if (source && !(await resolvesWithin(source.disconnect(), left()))) {
      this.logger.warn({ stopTimeoutMs: bound }, 'in-flight work did not finish in time');
    }
    if (this.publisher && !(await resolvesWithin(this.publisher.disconnect(), left()))) {
      this.logger.warn({ stopTimeoutMs: bound }, 'producer did not disconnect in time');
    }
    this.joined = false;
  }

  /** Every topic read (sources and their retry tiers) with its path, picked here once. */
  private routeTopics(router: FailureRouter): void {
    const { serde, group } = this.options;
    const failures = new Failures(router, this.keyOrder, group.groupId, this.logger, (error) => this.outage.holds(error));
    const decoder = new EventDecoder(serde, failures, this.logger);
    this.routes.clear();
    const { deadline } = this;
    const eventPath = new EventPath(decoder, failures, group.groupId, this.options.commitIntervalMs, this.keyOrder, deadline);
    const context = { decoder, failures, group: group.groupId, logger: this.logger, stopping: () => this.stopping, deadline };
    const batchPath = this.pipeline ? new PipelinedBatchPath(context, this.pipeline) : new BatchPath(context);
    for (const registration of this.registrations.values()) {
      const path: ConsumePath = registration.kind === 'event' ? eventPath : batchPath;
      this.routes.set(registration.source.name, { registration, tier: 0, path });
      for (let tier = 1; tier <= router.tiers; tier++) {
        this.routes.set(retryTopicName(registration.source, group.groupId, tier), { registration, tier, path });
      }
    }
  }

  /** Hourly: the group's old processed-event records, and key-queue rows whose messages are lost. */
  private schedulePruning(): void {
    const { pool, group } = this.options;
    const keyOrder = this.keyOrder;
    if (!pool) return;
    const prune = async () => {
      await pruneProcessedEvents(pool, group.groupId).then(
        (deleted) => deleted > 0 && this.logger.info({ deleted }, 'pruned old processed-event records'),
        (error: unknown) => this.logger.warn({ err: error }, 'pruning processed-event records failed'),
      );
      await keyOrder?.prune().catch((error: unknown) => this.logger.warn({ err: error }, 'pruning the key queues failed'));
    };
    this.pruneTimer = setInterval(() => void prune(), 3600_000).unref();
  }

  private async consume(batch: SourceBatch, control: BatchControl): Promise<void> {
    const route = this.routes.get(batch.topic);
    if (!route) throw new Error(`no route for ${batch.topic}`);
    const heartbeat = new BatchHeartbeat(control);
    const working = batch.messages.length > 0;
    if (working) this.liveness.batchStarted();
    try {
      // A retry tier's messages wait until due: the partition pauses, nothing blocks.
      const messages = route.tier === 0 ? batch.messages : this.gate.duePrefix(batch.messages, (until) => this.pause(batch, control, until));
      await route.path.consume(route, batch, messages, control, heartbeat);
      if (messages.length > 0) this.outage.passed(batch);
    } catch (error) {
      // A dependency is away, not the message at fault: the partition waits and tries it again.
      if (!this.outage.holds(error)) throw error;
      this.outage.hold(batch, control, error);
    } finally {
      heartbeat.stop();
      if (working) this.liveness.batchSettled();
    }
  }

  /** Pauses the batch's partition (for the due gate), reporting the pause and the resume on the feed. */
  private pause(batch: SourceBatch, control: BatchControl, until: number): () => void {
    const { topic, partition } = batch;
    const resume = control.pause();
    feed.consumerPaused.publish({ group: this.groupId, topic, partition, until });
    return () => {
      resume();
      feed.consumerResumed.publish({ group: this.groupId, topic, partition });
    };
  }
}
