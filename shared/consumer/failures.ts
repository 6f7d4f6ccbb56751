import { isRetriable, type PoisonPillError } from '../errors.js';
import { errorFields, feed, type ConsumerFailure, type FeedChannel } from '../instrumentation/events.js';
import type { TopicDeclaration } from '../kafka/topology.js';
import type { Logger } from '../logger.js';
import type { Delivery, FailureRouter } from './failure-router.js';
import { HEADERS, failedAttempts, headersToStrings } from './headers.js';
import type { KeyOrder } from './key-order.js';
import type { Route } from './route.js';
import type { EventFailure } from './types.js';

/**
 * What becomes of an event that was not handled: a retriable failure goes to its next retry tier, a
 * permanent one or the last attempt to the DLQ, undecodable bytes to the DLQ at once, and (ordered
 * retries) an event behind an earlier one of its key is parked. Keeps the key queues in step and
 * reports each outcome on the event feed.
 */
export class Failures {
  constructor(
    private readonly router: FailureRouter,
    private readonly keyOrder: KeyOrder | undefined,
    private readonly group: string,
    private readonly logger: Logger,
    /** Whether the runtime holds the partition for this error (a dependency outage) instead of routing the event. */
    private readonly held: (error: unknown) => boolean,
  ) {}

  async poison(source: TopicDeclaration, delivery: Delivery, error: PoisonPillError): Promise<void> {
    const { message } = delivery;
    const headers = headersToStrings(message.headers);
    const attempt = failedAttempts(headers, delivery.topic === source.name) + 1;
    await this.router.deadLetter(source, delivery, attempt, error);
    // A queue head that turned undecodable must not block its key for ever.
    const key = message.key?.toString();
    const eventId = headers[HEADERS.eventId];
    if (this.keyOrder && key !== undefined && eventId !== undefined) await this.keyOrder.release(key, eventId);
    this.report(feed.consumerPoison, source, delivery, eventId ?? `${delivery.topic}:${delivery.partition}:${message.offset}`, attempt, error);
    this.logger.warn(
      { topic: delivery.topic, partition: delivery.partition, offset: message.offset, reason: error.reason, err: error },
      'poison pill sent to the DLQ',
    );
  }

  async fail(route: Route, failure: EventFailure<unknown>, delivery: Delivery): Promise<void> {
    const { event, error } = failure;
    // Not the event's failure: thrown on, so the runtime holds the partition and tries the event again (dependency-outage.ts).
    if (this.held(error)) throw error;
    const { source } = route.registration;
    const router = this.router;
    const key = this.keyOrder ? event.key : null;
    if (!isRetriable(error) || event.attempt >= router.policy.attempts) {
      await router.deadLetter(source, delivery, event.attempt, error);
      if (this.keyOrder && key !== null) await this.keyOrder.release(key, event.eventId);
      this.report(feed.consumerDeadLettered, source, delivery, event.eventId, event.attempt, error);
      event.logger.error({ err: error, attempts: event.attempt }, 'sent to the DLQ');
      return;
    }
    if (this.keyOrder && key !== null) await this.keyOrder.enqueue(key, event.eventId);
    await router.retry(source, delivery, event.attempt, event.attempt, error);
    this.report(feed.consumerRetried, source, delivery, event.eventId, event.attempt, error);
    event.logger.warn({ err: error, attempt: event.attempt }, 'failed; scheduled for retry');
  }

  /** An earlier message of the event's key is in the retry path: the event follows it instead of overtaking it. */
  async park(route: Route, failure: Omit<EventFailure<unknown>, 'error'>, delivery: Delivery, key: string, head: string): Promise<void> {
    const { event } = failure;
    const { source } = route.registration;
    await this.keyOrder!.enqueue(key, event.eventId);
    await this.router.retry(source, delivery, route.tier + 1, event.attempt - 1);
    this.report(feed.consumerParked, source, delivery, event.eventId, event.attempt, undefined);
    event.logger.info({ behind: head }, 'parked behind an earlier message of its key');
  }

  private report(
    channel: FeedChannel<ConsumerFailure>,
    source: TopicDeclaration,
    delivery: Delivery,
    eventId: string,
    attempt: number,
    error: unknown,
  ): void {
    if (!channel.active) return;
    channel.publish({
      group: this.group,
      topic: source.name,
      deliveredFrom: delivery.topic,
      partition: delivery.partition,
      offset: delivery.message.offset,
      eventId,
      attempt,
      ...(error === undefined ? {} : errorFields(error)),
    });
  }
}
