/** Sample analytics events for the batch-ingestion tests; pure, so unit tests can use them too. */
import type { AnalyticsEvent } from '../../../shared/contracts/schemas.js';

/** `count` well-formed events of one run; the run id is in every event id and order id. */
export function makeEvents(runId: string, count: number, start = Date.UTC(2026, 0, 1)): AnalyticsEvent[] {
  const types = ['ORDER_PLACED', 'LINE_ITEM', 'REVENUE'] as const;
  return Array.from({ length: count }, (_, i) => ({
    eventId: `${runId}-${i}`,
    eventType: types[i % 3]!,
    orderId: `${runId}-order-${Math.floor(i / 3)}`,
    customerId: `customer-${i % 97}`,
    sku: i % 3 === 1 ? `SKU-${i % 50}` : null,
    quantity: i % 3 === 1 ? 1 + (i % 4) : null,
    amountCents: 100 + (i % 10_000),
    currency: 'EUR',
    occurredAt: start + i * 1000, clientId: null,
  }));
}
