import { ValueReleasedError } from '../errors.js';
import type { SourceMessage } from '../kafka/port.js';
import type { Logger } from '../logger.js';
import type { Delivery } from './failure-router.js';
import type { CallSignal } from './handler-deadline.js';
import { HEADERS, failedAttempts, headersToStrings } from './headers.js';
import type { InboundEvent } from './types.js';

const neverAborted = new AbortController().signal;

/** The topic (source or retry tier) and partition a fetched batch came from; shared by its events. */
export interface BatchOrigin {
  readonly topic: string;
  readonly partition: number;
}

/**
 * An InboundEvent whose header-derived fields are read on first use: a bulk consumer touches only
 * `value` for almost every event, and building headers, ids and positions for each would cost more
 * than decoding it (and keep more objects alive until its batch is written).
 */
export class DecodedEvent implements InboundEvent<unknown> {
  private decoded: unknown;
  private released = false;
  /** The value's own eventId, kept when the value is released. */
  private releasedValueEventId: string | undefined;
  private cachedHeaders: Readonly<Record<string, string>> | undefined;
  private cachedEventId: string | undefined;
  private childLogger: Logger | undefined;
  /** Set for each handler call by its deadline (handler-deadline.ts), which makes the signal when it is read. */
  deadlineCall: CallSignal | undefined;

  constructor(
    value: unknown,
    readonly topic: string,
    private readonly message: SourceMessage,
    private readonly from: BatchOrigin,
    private readonly parentLogger: Logger,
  ) {
    this.decoded = value;
  }

  get value(): unknown {
    if (this.released) throw new ValueReleasedError(`the value of event ${this.eventId} was read after releaseValue()`);
    return this.decoded;
  }

  /** See releaseValue(). */
  release(): void {
    if (this.released) return;
    this.releasedValueEventId = eventIdIn(this.decoded);
    this.decoded = undefined;
    this.released = true;
  }

  /** Where to route this event if it fails. */
  get delivery(): Delivery {
    return { topic: this.from.topic, partition: this.from.partition, message: this.message };
  }

  get headers(): Readonly<Record<string, string>> {
    this.cachedHeaders ??= headersToStrings(this.message.headers);
    return this.cachedHeaders;
  }

  get rawHeaders(): SourceMessage['headers'] {
    return this.message.headers;
  }

  get signal(): AbortSignal {
    return this.deadlineCall?.signal ?? neverAborted;
  }

  get key(): string | null {
    return this.message.key?.toString() ?? null;
  }

  get attempt(): number {
    return failedAttempts(this.headers, this.from.topic === this.topic) + 1;
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
    const { headers } = this;
    const valueEventId = this.released ? this.releasedValueEventId : eventIdIn(this.decoded);
    const fromRetryTier = this.from.topic !== this.topic;
    const original = (name: string) => (fromRetryTier ? headers[name] : undefined);
    return (
      headers[HEADERS.eventId] ??
      valueEventId ??
      `${original(HEADERS.originalTopic) ?? this.topic}:${original(HEADERS.originalPartition) ?? this.from.partition}:${original(HEADERS.originalOffset) ?? this.message.offset}`
    );
  }
}

function eventIdIn(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && 'eventId' in value && typeof value.eventId === 'string' ? value.eventId : undefined;
}

/**
 * For bulk writers: `event` is turned into its row, its decoded value is no longer needed. A batch
 * handler holds its events until their bulk write commits (to report the rows that fail); their
 * values, tens of thousands per write, would live as long and be copied by every young-generation
 * collection meanwhile. Reading `value` afterwards throws a ValueReleasedError; everything else
 * (the event id, headers, the delivery a failure is routed by) stays. Events the runtime did not
 * decode (a test's own objects) are left as they are.
 */
export function releaseValue(event: InboundEvent<unknown>): void {
  if (event instanceof DecodedEvent) event.release();
}
