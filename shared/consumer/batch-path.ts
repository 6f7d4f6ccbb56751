import { feed } from '../instrumentation/events.js';
import type { BatchControl, SourceBatch, SourceMessage } from '../kafka/port.js';
import type { Logger } from '../logger.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { EventDecoder } from './event-decoder.js';
import type { Failures } from './failures.js';
import type { HandlerDeadline } from './handler-deadline.js';
import { DecodedEvent } from './inbound-event.js';
import type { ConsumePath, Route } from './route.js';

/** What a batch path needs from the runtime. */
export interface BatchPathContext {
  decoder: EventDecoder;
  failures: Failures;
  group: string;
  logger: Logger;
  /** True once the runtime is stopping. */
  stopping(): boolean;
  deadline: HandlerDeadline;
}

/**
 * Batch handlers (bulk writers): the due events of a fetched batch go to the handler at once, its
 * reported failures are routed like failed events, and the batch's last offset is resolved when all
 * of it is durable. The next fetch waits for it.
 */
export class BatchPath implements ConsumePath {
  constructor(protected readonly context: BatchPathContext) {}

  async consume(route: Route, batch: SourceBatch, messages: readonly SourceMessage[], control: BatchControl): Promise<void> {
    const last = messages[messages.length - 1];
    if (!last) return;
    await this.complete(route, batch, messages, control);
    control.resolveOffset(last.offset);
  }

  /** Decodes, hands the events to the handler and routes its failures; resolves when all of it is durable. */
  protected async complete(route: Route, batch: SourceBatch, messages: readonly SourceMessage[], control: BatchControl): Promise<void> {
    const { decoder, failures } = this.context;
    const registration = route.registration as Extract<Route['registration'], { kind: 'batch' }>;
    const events: DecodedEvent[] = [];
    const from = { topic: batch.topic, partition: batch.partition };
    for (const message of messages) {
      // Anything unusual (a schema not fetched yet, a poison pill) takes the full path.
      const event = decoder.decodeNow(route, message, from) ?? (await decoder.decode(route, { ...from, message }));
      if (event) events.push(event);
    }
    const reported =
      events.length === 0
        ? []
        : await this.context.deadline.batch((context) => registration.handle(events, context), {
            heartbeat: () => control.heartbeat(),
            isRunning: () => !this.context.stopping() && control.isRunning() && !control.isStale(),
            logger: this.context.logger.child({ topic: batch.topic, partition: batch.partition }),
          });
    for (const failure of reported) {
      if (!(failure.event instanceof DecodedEvent)) throw new Error('a batch handler reported a failure for an event it was not given');
      await failures.fail(route, failure, failure.event.delivery);
    }
    const processed = events.length - reported.length;
    if (processed > 0) {
      feed.consumerProcessed.publish({
        group: this.context.group,
        topic: registration.source.name,
        deliveredFrom: batch.topic,
        partition: batch.partition,
        offset: messages[messages.length - 1]!.offset,
        count: processed,
        handlerSeconds: [],
      });
    }
  }
}

/**
 * Batch handlers with a commit pipeline (maxUncommittedEvents): a batch is resolved at once, so the
 * next fetch is read while it is written, and its offsets are committed by the pipeline once it and
 * every batch before it in its partition are durable (commit-pipeline.ts).
 */
export class PipelinedBatchPath extends BatchPath {
  constructor(
    context: BatchPathContext,
    private readonly pipeline: CommitPipeline,
  ) {
    super(context);
  }

  override async consume(route: Route, batch: SourceBatch, messages: readonly SourceMessage[], control: BatchControl): Promise<void> {
    const first = messages[0];
    const last = messages[messages.length - 1];
    if (!first || !last) return;
    await this.pipeline.admit();
    // Waiting for room may have outlived the assignment (rebalance) or the position (seek back).
    if (!control.isRunning() || control.isStale()) return;
    const work = this.complete(route, batch, messages, control);
    this.pipeline.track(batch.topic, batch.partition, first.offset, last.offset, messages.length, work);
    // The fetch position moves on now; the commit waits for the work (see CommitPipeline).
    control.resolveOffset(last.offset);
  }
}
