import { createHash } from 'node:crypto';
import type { AnalyticsEvent, OrderCreated } from '../../shared/contracts/schemas.js';

/** Fixed namespace of the pipeline's name-based ids (any constant UUID; never change it). */
const NAMESPACE = Buffer.from('5d0f6a4e8c2b4d7a9e3f1b6c0a8d2e4f', 'hex');

/**
 * A name-based UUID (RFC 9562 version 5): the same name always gives the same id, so a redelivered
 * order event produces the same analytics event ids and the analytics store keeps one of each.
 */
export function derivedEventId(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The facts of one order: ORDER_PLACED, a LINE_ITEM per line and REVENUE. Everything in them comes
 * from the order event (ids, amounts and the time it happened), so a redelivery repeats them exactly.
 */
export function analyticsEventsFor(order: OrderCreated, orderEventId: string): AnalyticsEvent[] {
  const common = { orderId: order.orderId, customerId: order.customerId, currency: order.currency, occurredAt: order.createdAt, clientId: order.clientId };
  return [
    {
      ...common,
      eventId: derivedEventId(`${orderEventId}/ORDER_PLACED`),
      eventType: 'ORDER_PLACED',
      sku: null,
      quantity: null,
      amountCents: order.totalCents,
    },
    ...order.items.map(
      (item, index): AnalyticsEvent => ({
        ...common,
        eventId: derivedEventId(`${orderEventId}/LINE_ITEM/${index}/${item.sku}`),
        eventType: 'LINE_ITEM',
        sku: item.sku,
        quantity: item.quantity,
        amountCents: item.quantity * item.unitPriceCents,
      }),
    ),
    {
      ...common,
      eventId: derivedEventId(`${orderEventId}/REVENUE`),
      eventType: 'REVENUE',
      sku: null,
      quantity: null,
      amountCents: order.totalCents,
    },
  ];
}
