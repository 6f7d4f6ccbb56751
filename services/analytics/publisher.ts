import { Counter } from 'prom-client';
import { HEADERS } from '../../shared/consumer/headers.js';
import type { BatchContext, EventFailure, InboundEvent } from '../../shared/consumer/types.js';
import type { OutboundMessage, Publisher } from '../../shared/kafka/port.js';
import { topics } from '../../shared/contracts/topics.js';
import { instanceId } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import type { AvroSerde } from '../../shared/registry/serde.js';
import type { OrderCreated, OrderStep } from '../../shared/contracts/schemas.js';
import { analyticsEventsFor, derivedEventId } from './events.js';

const published = new Counter({
  name: 'analytics_events_published_total',
  help: 'Analytics events published to analytics.events',
  registers: [metrics],
});

export const failedSends = new Counter({
  name: 'analytics_send_failures_total',
  help: 'Analytics events whose send failed (they go through the retry topics)',
  registers: [metrics],
});

/**
 * Turns a fetched batch of orders into analytics events plus an order.steps report per order, sent
 * in one request (acks = all). The order API never waits for any of this: analytics is its own
 * consumer group, so it can lag or fail without slowing the order path. A failed send is never
 * silent: it is counted (analytics_send_failures_total), logged, and the batch's events are handed
 * back to the runtime, which retries them through the retry topics; the derived event ids make the
 * repeated sends harmless for the analytics store.
 */
export class AnalyticsPublisher {
  constructor(
    private readonly producer: Publisher,
    private readonly serde: AvroSerde,
  ) {}

  handleBatch = async (
    events: ReadonlyArray<InboundEvent<OrderCreated>>,
    context: BatchContext,
  ): Promise<ReadonlyArray<EventFailure<OrderCreated>>> => {
    const facts: OutboundMessage[] = [];
    const steps: OutboundMessage[] = [];
    const encoded: Array<InboundEvent<OrderCreated>> = [];
    const failures: Array<EventFailure<OrderCreated>> = [];
    for (const event of events) {
      try {
        const { facts: orderFacts, step } = await this.encode(event);
        facts.push(...orderFacts);
        steps.push(step);
        encoded.push(event);
      } catch (error) {
        // One order that cannot be encoded must not hold back the others (the runtime routes it).
        failures.push({ event, error });
      }
    }
    if (encoded.length === 0) return failures;
    try {
      // Facts first: the step report says they are out.
      await this.producer.send(topics.analyticsEvents.name, facts);
      await this.producer.send(topics.orderSteps.name, steps);
    } catch (error) {
      failedSends.inc(facts.length);
      context.logger.error(
        { err: error, orders: encoded.length, analyticsEvents: facts.length, firstEventId: encoded[0]?.eventId },
        'analytics send failed; the orders go to the retry topic',
      );
      return [...failures, ...encoded.map((event) => ({ event, error }))];
    }
    published.inc(facts.length);
    for (const event of encoded) event.logger.debug({ orderId: event.value.orderId }, 'analytics events published');
    context.logger.info({ orders: encoded.length, analyticsEvents: facts.length }, 'analytics events published');
    return failures;
  };

  private async encode(event: InboundEvent<OrderCreated>): Promise<{ facts: OutboundMessage[]; step: OutboundMessage }> {
    const order = event.value;
    const headers = event.correlationId ? { [HEADERS.correlationId]: event.correlationId } : {};
    const analytics = analyticsEventsFor(order, event.eventId);
    const facts: OutboundMessage[] = [];
    for (const fact of analytics) {
      facts.push({
        key: order.orderId,
        value: await this.serde.encode(topics.analyticsEvents, fact),
        headers: { ...headers, [HEADERS.eventId]: fact.eventId },
      });
    }
    const step: OrderStep = {
      eventId: derivedEventId(`${event.eventId}/step/analytics`),
      orderId: order.orderId,
      causationId: event.eventId,
      service: 'analytics',
      outcome: 'published',
      detail: `${analytics.length} analytics events`,
      handledBy: instanceId,
      occurredAt: Date.now(),
    };
    const stepMessage = {
      key: order.orderId,
      value: await this.serde.encode(topics.orderSteps, step),
      headers: { ...headers, [HEADERS.eventId]: step.eventId },
    };
    return { facts, step: stepMessage };
  }
}
