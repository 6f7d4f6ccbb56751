import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../../shared/consumer/types.js';
import { kafkaClient } from '../../../shared/kafka/client.js';
import { topics } from '../../../shared/contracts/topics.js';
import type { AnalyticsEvent, OrderCreated, OrderStep } from '../../../shared/contracts/schemas.js';
import { derivedEventId } from '../../../services/analytics/events.js';
import { AnalyticsPublisher, failedSends } from '../../../services/analytics/publisher.js';
import { publishEvents } from '../../support/publish.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { readTopic, testKafka, testLogger, testSerde } from '../../support/stack.js';

const fleet = new ServiceFleet();
let analytics: RunningService;

function order(): OrderCreated {
  return {
    eventId: randomUUID(),
    orderId: randomUUID(),
    customerId: 'analytics-test',
    email: 'analytics-test@example.com',
    items: [
      { sku: 'SKU-007', quantity: 3, unitPriceCents: 1435 },
      { sku: 'SKU-008', quantity: 1, unitPriceCents: 1570 },
    ],
    totalCents: 3 * 1435 + 1570,
    currency: 'EUR',
    createdAt: Date.now(),
    clientId: randomUUID(),
  };
}

beforeAll(async () => {
  analytics = await fleet.start('analytics');
});

afterAll(async () => {
  await fleet.stopAll();
});

describe('analytics service', () => {
  it('turns an order into ORDER_PLACED, LINE_ITEM per line and REVENUE, with the same ids on a redelivery', async () => {
    const o = order();
    await publishEvents(topics.orderCreated, [o]);
    await readTopic(topics.analyticsEvents.name, (seen) => seen.filter((m) => m.key?.toString() === o.orderId).length >= 4);
    await publishEvents(topics.orderCreated, [o]);
    const messages = await readTopic(topics.analyticsEvents.name, (seen) => seen.filter((m) => m.key?.toString() === o.orderId).length >= 8);
    const serde = testSerde();
    const events = await Promise.all(
      messages.filter((m) => m.key?.toString() === o.orderId).map((m) => serde.decode(topics.analyticsEvents, m.value)),
    );
    expect(events).toHaveLength(8);
    const unique = new Map<string, AnalyticsEvent>(events.map((e) => [e.eventId, e]));
    expect(unique.size).toBe(4);
    const byType = [...unique.values()].sort((a, b) => a.eventType.localeCompare(b.eventType) || (a.sku ?? '').localeCompare(b.sku ?? ''));
    expect(byType.map((e) => [e.eventType, e.sku, e.quantity, e.amountCents])).toEqual([
      ['LINE_ITEM', 'SKU-007', 3, 3 * 1435],
      ['LINE_ITEM', 'SKU-008', 1, 1570],
      ['ORDER_PLACED', null, null, o.totalCents],
      ['REVENUE', null, null, o.totalCents],
    ]);
    expect(unique.has(derivedEventId(`${o.eventId}/ORDER_PLACED`))).toBe(true);
    for (const e of unique.values()) expect(e.occurredAt).toBe(o.createdAt);
    // The order's client goes with every fact: the analytics store keeps it, a client's exports filter by it.
    for (const e of unique.values()) expect(e.clientId).toBe(o.clientId);

    const steps = await readTopic(topics.orderSteps.name, (seen) => seen.some((m) => m.key?.toString() === o.orderId));
    const step: OrderStep = await serde.decode(topics.orderSteps, steps.find((m) => m.key?.toString() === o.orderId)!.value);
    expect(step).toMatchObject({ service: 'analytics', outcome: 'published', causationId: o.eventId });
  });

  it('counts and logs a failed send and hands the events back for retry', async () => {
    // A real producer that was never connected: its sends fail the way they do during an outage.
    const publisher = new AnalyticsPublisher(kafkaClient(testKafka()).publisher(), testSerde());
    const o = order();
    const event: InboundEvent<OrderCreated> = {
      value: o,
      key: o.orderId,
      headers: {},
      eventId: o.eventId,
      correlationId: undefined,
      topic: topics.orderCreated.name,
      deliveredFrom: { topic: topics.orderCreated.name, partition: 0, offset: '0' },
      attempt: 1,
      logger: testLogger,
      signal: new AbortController().signal,
    };
    const before = (await failedSends.get()).values[0]?.value ?? 0;
    const failures = await publisher.handleBatch([event], { heartbeat: async () => {}, isRunning: () => true, logger: testLogger, signal: new AbortController().signal });
    expect(failures.map((f) => f.event)).toEqual([event]);
    expect((await failedSends.get()).values[0]?.value).toBe(before + 4);
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await fleet.stop(analytics)).toEqual({ code: 0, signal: null });
  });
});
