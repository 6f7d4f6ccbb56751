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
  /** The API client whose order it is (from order.created): a client's revenue export counts only its own. Null when the order has none. */
  clientId: null | string;
}

export type AnalyticsEventType = 'ORDER_PLACED' | 'LINE_ITEM' | 'REVENUE';

/** The inventory's answer to an AvailabilityRequest, on the reply topic the request named, with its kafka_correlationId echoed. An error reply has no value (request-reply error headers instead). Key: the correlation id. */
export interface AvailabilityReply {
  items: Array<AvailabilityReplyItem>;
  /** The inventory instance that answered. */
  repliedBy: string;
  repliedAt: number;
}

export interface AvailabilityReplyItem {
  sku: string;
  requested: number;
  available: number;
  /** available >= requested */
  ok: boolean;
}

/** A question to the inventory group: is this much of each SKU available? A request of request-reply: the kafka_correlationId, kafka_replyTopic, kafka_replyPartition and request-deadline headers say where and until when to answer. Key: the correlation id. */
export interface AvailabilityRequest {
  items: Array<AvailabilityRequestItem>;
  requestedAt: number;
}

export interface AvailabilityRequestItem {
  sku: string;
  quantity: number;
}

/** Published by the exports service when an export ends, in the transaction that ends it. Key: the export id. */
export interface ExportCompleted {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  exportId: string;
  kind: string;
  status: ExportStatus;
  /** Rows written (so far, for FAILED and CANCELLED). */
  rows: number;
  /** Path of the CSV on the exports API, when SUCCEEDED. */
  resultUrl: null | string;
  callbackUrl: null | string;
  /** Why it FAILED. */
  error: null | string;
  completedAt: number;
  /** The API client that asked for the export: only its webhook endpoints hear of it. */
  clientId: null | string;
}

export type ExportStatus = 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** Published by the exports service when an export is accepted (POST /exports). Key: the export id. */
export interface ExportRequested {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  exportId: string;
  /** orders or revenue. */
  kind: string;
  /** csv. */
  format: string;
  /** Start of the range, inclusive. */
  from: number;
  /** End of the range, exclusive. */
  to: number;
  /** Where the requester wants to hear of completion (webhooks). */
  callbackUrl: null | string;
  requestedAt: number;
}

/** An order could not be reserved in full, so nothing of it was reserved. Key: the order id. */
export interface InventoryRejected {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  /** The event id of the order.created event this answers. */
  causationId: string;
  reason: string;
  shortages: Array<StockShortage>;
  /** The inventory instance that decided. */
  handledBy: string;
  rejectedAt: number;
}

export interface StockShortage {
  sku: string;
  requested: number;
  available: number;
}

/** The stock reserved for a cancelled order went back on the shelf. Key: the order id. */
export interface InventoryReleased {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  /** The event id of the order.cancelled event this answers. */
  causationId: string;
  items: Array<ReleasedLine>;
  /** The inventory instance that released the stock. */
  handledBy: string;
  releasedAt: number;
}

export interface ReleasedLine {
  sku: string;
  quantity: number;
}

/** The order workflow asks inventory to reserve an order's lines, once its payment is authorized. Key: the order id. */
export interface InventoryReserveRequested {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  items: Array<ReserveLine>;
  requestedAt: number;
}

export interface ReserveLine {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

/** Stock for every line of an order was reserved (all or nothing). Key: the order id. */
export interface InventoryReserved {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  /** The event id of the order.created event this answers. */
  causationId: string;
  items: Array<ReservedLine>;
  /** The inventory instance that made the reservation. */
  handledBy: string;
  reservedAt: number;
}

export interface ReservedLine {
  sku: string;
  quantity: number;
}

/** A confirmed order was cancelled; inventory releases its stock (the saga's compensating step). Key: the order id. */
export interface OrderCancelled {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  reason: null | string;
  cancelledAt: number;
}

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
  /** The API client that placed the order: its analytics facts and exports are its own. Null for orders from before API clients. */
  clientId: null | string;
}

export interface LineItem {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

/** Published by the scheduler a while after an order was confirmed (unless it was cancelled); the email service asks the customer how the order went. Key: the order id. */
export interface OrderFollowUp {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  email: string;
  confirmedAt: number;
}

/** An order ended REJECTED because its payment failed (declined, or no answer in time): the customer is told by mail. Key: the order id. */
export interface OrderPaymentFailed {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  /** Personal data: never logged. */
  email: string;
  /** payment_declined or payment_timeout. */
  reason: string;
  failedAt: number;
}

/** An order reached a status its client may want to hear about (CONFIRMED, REJECTED, CANCELLED), published by the order service in the transaction that moved it; the webhooks service delivers it as order.<status in lower case>. Key: the order id. */
export interface OrderStatusChanged {
  /** Unique per event; consumers deduplicate on it, and it is the webhook message id. */
  eventId: string;
  orderId: string;
  /** The status the order moved to. */
  status: string;
  previousStatus: string;
  /** Why (a rejection's reason), when there is one. */
  reason: null | string;
  changedAt: number;
  /** The API client that placed the order: only its webhook endpoints hear of it. Null for orders from before API clients. */
  clientId: null | string;
}

/** A downstream service finished its part for an order; the order service shows it in GET /orders/:id. Key: the order id. */
export interface OrderStep {
  /** Derived from the causing event and the service, so a redelivery repeats the same id. */
  eventId: string;
  orderId: string;
  /** The event id of the event the service handled. */
  causationId: string;
  /** email or analytics. */
  service: string;
  /** What the service did, e.g. sent or published. */
  outcome: string;
  /** A short human-readable note; never personal data. */
  detail: null | string;
  /** The instance that did the work. */
  handledBy: string;
  occurredAt: number;
}

/** Published by the scheduler when an order workflow step's timeout is due; the order service applies the step's timeout rule if the order is still in that state and attempt. Key: the order id. */
export interface OrderTimeout {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  /** When the timeout was scheduled (the step's start). */
  scheduledAt: number;
  /** The workflow state the timeout guards; null (older events): PENDING. */
  state: null | string;
  /** The step's attempt the timeout guards. */
  attempt: number;
}

/** The order workflow asks the payments service to act on an order's payment. Key: the order id. The provider's idempotency key is derived from the order id and the action, so a redelivered or re-sent command never acts twice. */
export interface PaymentCommand {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  action: PaymentAction;
  amountCents: number;
  /** ISO 4217 code, e.g. EUR. */
  currency: string;
  /** The provider's card token (AUTHORIZE only); never logged. */
  cardToken: null | string;
  /** 1 for the first command of a step; the step's timeout re-sends it with the next number. */
  attempt: number;
  requestedAt: number;
}

export type PaymentAction = 'AUTHORIZE' | 'CAPTURE' | 'VOID' | 'REFUND';

/** What the payment provider answered to a payment command. Key: the order id. */
export interface PaymentOutcome {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  orderId: string;
  /** The payment command's event id. */
  causationId: string;
  action: PaymentOutcomeAction;
  outcome: PaymentOutcomeKind;
  /** The provider's charge; null when there was none (declined, nothing to void). */
  chargeId: null | string;
  amountCents: number;
  /** The decline code, or why nothing was done. */
  reason: null | string;
  /** The payments instance. */
  handledBy: string;
  occurredAt: number;
}

export type PaymentOutcomeAction = 'AUTHORIZE' | 'CAPTURE' | 'VOID' | 'REFUND';

export type PaymentOutcomeKind = 'AUTHORIZED' | 'DECLINED' | 'CAPTURED' | 'CAPTURE_FAILED' | 'VOIDED' | 'REFUNDED';

/** Published by the scheduler when a webhook delivery's next attempt is due; the webhooks service attempts it unless it moved on meanwhile. Key: the delivery id. */
export interface WebhookDeliveryDue {
  /** Unique per event; consumers deduplicate on it. */
  eventId: string;
  deliveryId: string;
  /** The endpoint's queue the attempt waits in. */
  endpointId: string;
  /** The delivery's attempts when this one was scheduled: a job for an older state finds it moved and does nothing. */
  attemptsDone: number;
  scheduledAt: number;
}
