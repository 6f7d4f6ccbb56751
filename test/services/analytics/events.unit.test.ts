import { describe, expect, it } from 'vitest';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import { analyticsEventsFor, derivedEventId } from '../../../services/analytics/events.js';

const order: OrderCreated = {
  eventId: 'evt-1',
  orderId: 'ord-1',
  customerId: 'cust-1',
  email: 'someone@example.com',
  items: [
    { sku: 'SKU-007', quantity: 3, unitPriceCents: 1435 },
    { sku: 'SKU-008', quantity: 1, unitPriceCents: 1570 },
  ],
  totalCents: 3 * 1435 + 1570,
  currency: 'EUR',
  createdAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  clientId: null,
};

const uuidV5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('derivedEventId', () => {
  it('is a version 5, RFC 9562 variant UUID', () => {
    for (const name of ['', 'a', 'evt-1/ORDER_PLACED', 'ünïcødé ✓']) expect(derivedEventId(name)).toMatch(uuidV5);
  });

  it('gives the same id for the same name and different ids for different names', () => {
    expect(derivedEventId('evt-1/REVENUE')).toBe(derivedEventId('evt-1/REVENUE'));
    expect(derivedEventId('evt-1/REVENUE')).not.toBe(derivedEventId('evt-2/REVENUE'));
    expect(derivedEventId('evt-1/REVENUE')).not.toBe(derivedEventId('evt-1/ORDER_PLACED'));
  });

  it('is stable across releases: a known name maps to a known id', () => {
    // Stored analytics rows are keyed by these ids; a change here would duplicate every redelivered order.
    expect(derivedEventId('evt-1/ORDER_PLACED')).toBe('0181c505-a2e5-5855-b719-61756a581497');
  });
});

describe('analyticsEventsFor', () => {
  it('derives ORDER_PLACED, a LINE_ITEM per line in order, then REVENUE', () => {
    const events = analyticsEventsFor(order, order.eventId);
    expect(events.map((event) => event.eventType)).toEqual(['ORDER_PLACED', 'LINE_ITEM', 'LINE_ITEM', 'REVENUE']);
  });

  it("carries the order's API client into every event, and none when the order has none", () => {
    const clientId = '7e570000-0000-4000-8000-00000000000c';
    expect(analyticsEventsFor({ ...order, clientId }, order.eventId).map((event) => event.clientId)).toEqual([clientId, clientId, clientId, clientId]);
    expect(analyticsEventsFor(order, order.eventId).map((event) => event.clientId)).toEqual([null, null, null, null]);
  });

  it('copies the order facts into every event and computes line amounts', () => {
    const [placed, first, second, revenue] = analyticsEventsFor(order, order.eventId);
    for (const event of [placed, first, second, revenue]) {
      expect(event).toMatchObject({ orderId: 'ord-1', customerId: 'cust-1', currency: 'EUR', occurredAt: order.createdAt });
    }
    expect(placed).toMatchObject({ sku: null, quantity: null, amountCents: order.totalCents });
    expect(first).toMatchObject({ sku: 'SKU-007', quantity: 3, amountCents: 3 * 1435 });
    expect(second).toMatchObject({ sku: 'SKU-008', quantity: 1, amountCents: 1570 });
    expect(revenue).toMatchObject({ sku: null, quantity: null, amountCents: order.totalCents });
  });

  it('names each event after the order event, its type and (for lines) index and SKU', () => {
    const ids = analyticsEventsFor(order, 'evt-1').map((event) => event.eventId);
    expect(ids).toEqual([
      derivedEventId('evt-1/ORDER_PLACED'),
      derivedEventId('evt-1/LINE_ITEM/0/SKU-007'),
      derivedEventId('evt-1/LINE_ITEM/1/SKU-008'),
      derivedEventId('evt-1/REVENUE'),
    ]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('repeats exactly on a redelivery and differs for another order event', () => {
    expect(analyticsEventsFor(order, 'evt-1')).toEqual(analyticsEventsFor(structuredClone(order), 'evt-1'));
    const other = analyticsEventsFor(order, 'evt-2').map((event) => event.eventId);
    for (const id of analyticsEventsFor(order, 'evt-1').map((event) => event.eventId)) expect(other).not.toContain(id);
  });

  it('keeps two lines of the same SKU apart', () => {
    const twice = { ...order, items: [order.items[0]!, order.items[0]!] };
    const [, first, second] = analyticsEventsFor(twice, 'evt-1');
    expect(first!.eventId).not.toBe(second!.eventId);
  });
});
