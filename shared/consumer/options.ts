import type { Pool } from '../db.js';
import type { BackoffOptions } from '../retry/backoff.js';
import { PermanentError, type ErrorCode } from '../errors.js';
import { defaultMaxWaitTimeInMs, type KafkaClient } from '../kafka/port.js';
import type { ConsumerGroupDeclaration } from '../kafka/topology.js';
import type { Logger } from '../logger.js';
import type { AvroSerde } from '../registry/serde.js';

export interface ConsumerRuntimeOptions {
  /**
   * The Kafka client behind the runtime's port (kafka/port.ts): `kafkaClient(createKafka(...))`,
   * another client to benchmark, or a fake in a unit test.
   */
  client: KafkaClient;
  serde: AvroSerde;
  logger: Logger;
  group: ConsumerGroupDeclaration;
  /**
   * The service's database. Required when the group declares `orderedRetries` (the per-key queues
   * live in PostgreSQL); when given, the group's old processed-event records are pruned hourly.
   * @defaultValue none: no ordered retries, no pruning
   */
  pool?: Pool;
  /**
   * Partitions this member handles at once (each still in offset order).
   * @defaultValue 1
   */
  partitionsConsumedConcurrently?: number;
  /**
   * Longest a fetch waits for data (see defaultMaxWaitTimeInMs in kafka/port.ts).
   * @defaultValue 500
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
   * How long a partition waits before its message is tried again while a dependency is unavailable
   * (dependency-outage.ts); the cap bounds how long consumption lags behind the dependency's return.
   * @defaultValue 1 s doubling to 15 s, less up to a fifth at random
   */
  dependencyBackoff?: BackoffOptions;
  /**
   * Called when the consumer crashed for good (the client will not restart it).
   * @defaultValue stops the process: exit code 1 through its graceful shutdown
   */
  onFatal?: (error: unknown) => void;
  /**
   * Longest one handler call (event or batch) may take: past it the call's signal aborts, the
   * delivery counts as a transient failure (HandlerTimeoutError, its retry path) and the call is
   * abandoned. A member that completes nothing for 3 deadlines with work in flight reports itself
   * not live (isLive()). 30 s: above what a merely slow call takes once the handlers' own timeouts
   * (SMTP, statements) have ended it, and well under what a stuck partition may cost.
   * @defaultValue 30000
   */
  handlerTimeoutMs?: number;
  /**
   * The bound of a whole stop(): waiting for a start in progress, letting in-flight handlers finish,
   * committing and disconnecting. The service kit passes its share of the process's shutdown bound.
   * @defaultValue 25000
   */
  stopTimeoutMs?: number;
}

/** The options with every default applied. */
export interface ResolvedOptions {
  client: KafkaClient;
  serde: AvroSerde;
  logger: Logger;
  group: ConsumerGroupDeclaration;
  pool: Pool | undefined;
  partitionsConsumedConcurrently: number;
  maxWaitTimeInMs: number;
  maxBytesPerPartition: number | undefined;
  maxBytes: number | undefined;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  commitIntervalMs: number;
  maxUncommittedEvents: number | undefined;
  dependencyBackoff: BackoffOptions | undefined;
  onFatal: (error: unknown) => void;
  handlerTimeoutMs: number;
  stopTimeoutMs: number;
}

/** The runtime was given options that cannot work together: a bug in the service's wiring. */
export class ConsumerOptionsError extends PermanentError {
  override readonly code: string = 'SERVICE_DEFINITION' satisfies ErrorCode;
}

function stopProcess(): void {
  process.exitCode = 1;
  process.kill(process.pid, 'SIGTERM');
}

/** Applies the defaults and checks what can be checked before handlers are registered. */
export function resolveOptions(options: ConsumerRuntimeOptions): ResolvedOptions {
  const { group } = options;
  if (group.orderedRetries && !options.pool) throw new ConsumerOptionsError(`${group.groupId}: ordered retries need a database pool`);
  if (options.maxUncommittedEvents !== undefined && !(options.maxUncommittedEvents > 0)) {
    throw new ConsumerOptionsError(`${group.groupId}: maxUncommittedEvents must be positive`);
  }
  if (options.handlerTimeoutMs !== undefined && !(options.handlerTimeoutMs > 0 && options.handlerTimeoutMs <= 2 ** 31 - 1)) {
    throw new ConsumerOptionsError(`${group.groupId}: handlerTimeoutMs must be a positive timer delay`);
  }
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 30_000;
  return {
    client: options.client,
    serde: options.serde,
    logger: options.logger,
    group,
    pool: options.pool,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? defaultMaxWaitTimeInMs,
    maxBytesPerPartition: options.maxBytesPerPartition,
    maxBytes: options.maxBytes,
    sessionTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? Math.min(3000, Math.floor(sessionTimeoutMs / 3)),
    commitIntervalMs: options.commitIntervalMs ?? 1000,
    maxUncommittedEvents: options.maxUncommittedEvents,
    dependencyBackoff: options.dependencyBackoff,
    onFatal: options.onFatal ?? stopProcess,
    handlerTimeoutMs: options.handlerTimeoutMs ?? 30_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 25_000,
  };
}

/** The kinds of handler registered, checked against the options once, at start. */
export function validateHandlers(options: ResolvedOptions, kinds: ReadonlyArray<'event' | 'batch'>): void {
  const { groupId } = options.group;
  if (kinds.length === 0) throw new ConsumerOptionsError(`${groupId}: no handlers registered`);
  if (options.group.orderedRetries && kinds.includes('batch')) {
    throw new ConsumerOptionsError(`${groupId}: batch handlers do not support ordered retries`);
  }
  if (options.maxUncommittedEvents !== undefined && kinds.includes('event')) {
    throw new ConsumerOptionsError(`${groupId}: maxUncommittedEvents needs every handler to be a batch handler`);
  }
}
