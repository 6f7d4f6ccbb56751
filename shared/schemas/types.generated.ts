// Generated from schemas/*.avsc by `npm run schemas:types`. Do not edit.

/** One fact for the analytics store. Key: the order id. */
export interface AnalyticsEvent {
  /** Unique per event; the analytics store deduplicates on it. */
  eventId: string;
  eventType: AnalyticsEventType;
  orderId: string;
  customerId: string;
  sku: null | string;
  quantity: null | number;
  amountCents: number;
  currency: string;
  occurredAt: number;
}

export type AnalyticsEventType = 'ORDER_PLACED' | 'LINE_ITEM' | 'REVENUE';

/** An order was accepted by the order API. Key: the order id. */
export interface OrderCreated {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  customerId: string;
  /** Personal data: never logged. */
  email: string;
  items: Array<LineItem>;
  totalCents: number;
  /** ISO 4217 code, e.g. EUR. */
  currency: string;
  createdAt: number;
}

export interface LineItem {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}
