import type { MessageHeaders } from '../kafka/port.js';
import type { Logger } from '../logger.js';

/** A decoded message as a handler sees it. */
export interface InboundEvent<T> {
  readonly value: T;
  readonly key: string | null;
  /** Header values as strings (Kafka headers are bytes). */
  readonly headers: Readonly<Record<string, string>>;
  /** Header values as they came, bytes included (request-reply's binary correlation ids and partitions). */
  readonly rawHeaders?: MessageHeaders | undefined;
  /** The `event-id` header, else the value's `eventId`, else topic/partition/offset. */
  readonly eventId: string;
  readonly correlationId: string | undefined;
  /** The topic the event was first published to (also for deliveries from a retry topic). */
  readonly topic: string;
  /** Where this delivery came from: the source topic or one of the group's retry topics. */
  readonly deliveredFrom: { topic: string; partition: number; offset: string };
  /** 1 on the first delivery, n on the n-th attempt. */
  readonly attempt: number;
  /** A child logger carrying event id, topic, partition and offset. */
  readonly logger: Logger;
  /**
   * Aborts when the handler's deadline passes (options.ts `handlerTimeoutMs`): the delivery then
   * counts as a transient failure and the call is abandoned. Pass it to calls that take one.
   */
  readonly signal: AbortSignal;
}

/**
 * Handles one event, under a deadline (see `signal`). Resolve when its effect is durable; throw a TransientError (or any error) to
 * retry later through the group's retry topics, or a PermanentError to send it to the group's DLQ.
 */
export type EventHandler<T> = (event: InboundEvent<T>) => Promise<void>;

export interface BatchContext {
  /** Keeps the group membership alive during long work; cheap to call often. */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping: finish or abandon the batch quickly. */
  isRunning(): boolean;
  logger: Logger;
  /** Aborts when the call's deadline passes (each heartbeat() extends it); the batch is then delivered again. */
  signal: AbortSignal;
}

export interface EventFailure<T> {
  event: InboundEvent<T>;
  error: unknown;
}

/**
 * Handles decoded events of one partition in offset order. Resolve with the events that failed
 * (each routed like a failed EventHandler call); the others count as done. Throwing fails the
 * whole batch: nothing is committed and the batch is delivered again.
 */
export type BatchHandler<T> = (events: ReadonlyArray<InboundEvent<T>>, context: BatchContext) => Promise<ReadonlyArray<EventFailure<T>>>;
