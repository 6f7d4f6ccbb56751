import { declareTopic, type ConsumerGroupDeclaration, type Topology } from '../kafka/topology.js';
import { schemas } from './schemas.js';

/**
 * The domain contract: every topic of the pipeline (name, schema, and where they differ from the
 * defaults, partitions, key and config) and every consumer group with its retry policy. Code refers
 * to topics and groups through this module; a topic name typed anywhere else is a bug.
 */
export const topics = {
  orderCreated: declareTopic('order.created', schemas.OrderCreated),
  analyticsEvents: declareTopic('analytics.events', schemas.AnalyticsEvent),
  orderCancelled: declareTopic('order.cancelled', schemas.OrderCancelled),
  inventoryReserved: declareTopic('inventory.reserved', schemas.InventoryReserved),
  inventoryRejected: declareTopic('inventory.rejected', schemas.InventoryRejected),
  inventoryReleased: declareTopic('inventory.released', schemas.InventoryReleased),
  orderSteps: declareTopic('order.steps', schemas.OrderStep),
  // Published by the scheduler (services/scheduler) when a job is due: an order's pending timeout,
  // an order's follow-up mail.
  orderTimeouts: declareTopic('order.timeouts', schemas.OrderTimeout),
  orderFollowUps: declareTopic('order.follow-ups', schemas.OrderFollowUp),
  // Published by the exports service (services/exports) when an export is accepted and when it
  // ends (SUCCEEDED, FAILED or CANCELLED), for analytics and webhooks; keyed by export id.
  exportRequested: declareTopic('export.requested', schemas.ExportRequested),
  exportCompleted: declareTopic('export.completed', schemas.ExportCompleted),
  // Request-reply (shared/request-reply): the order API asks the inventory group, which answers on
  // the reply topic the request names. An answer is worth seconds, so both are kept an hour.
  availabilityRequests: declareTopic('inventory.availability.requests', schemas.AvailabilityRequest, {
    key: 'correlation id',
    config: { 'retention.ms': String(3600_000) },
  }),
  availabilityReplies: declareTopic('inventory.availability.replies', schemas.AvailabilityReply, {
    key: 'correlation id',
    config: { 'retention.ms': String(3600_000) },
  }),
  // An order's status moved to one its client hears about (webhooks: order.confirmed, …).
  orderStatusChanged: declareTopic('order.status-changed', schemas.OrderStatusChanged),
  // Published by the scheduler when a webhook delivery's next attempt is due.
  webhookDeliveriesDue: declareTopic('webhooks.deliveries-due', schemas.WebhookDeliveryDue, { key: 'delivery id' }),
  // The order workflow (services/order/workflow.ts) commands the payments service and inventory;
  // their answers come back on payment.outcomes and inventory.*. A payment that failed is mailed.
  paymentCommands: declareTopic('payment.commands', schemas.PaymentCommand),
  paymentOutcomes: declareTopic('payment.outcomes', schemas.PaymentOutcome),
  inventoryReserveRequested: declareTopic('inventory.reserve-requested', schemas.InventoryReserveRequested),
  orderPaymentFailed: declareTopic('order.payment-failed', schemas.OrderPaymentFailed),
};

/** The scheduler's job keys: one job per order and purpose, so cancelling by key needs no lookup. */
export const jobKeys = {
  orderTimeout: (orderId: string) => `order-timeout:${orderId}`,
  orderFollowUp: (orderId: string) => `order-follow-up:${orderId}`,
  webhookDelivery: (deliveryId: string) => `webhook-delivery:${deliveryId}`,
};

export const consumerGroups = {
  // order.cancelled shares the order id key with order.created, so ordered retries keep an order's
  // release behind its reservation.
  // The workflow asks for a reservation once the payment is authorized (not at order.created).
  inventory: { groupId: 'inventory-service', topics: [topics.inventoryReserveRequested, topics.orderCancelled], orderedRetries: true },
  // The order service's side of the saga: inventory outcomes move an order's status, steps feed GET /orders/:id.
  orderService: {
    groupId: 'order-service',
    topics: [topics.inventoryReserved, topics.inventoryRejected, topics.inventoryReleased, topics.orderSteps, topics.orderTimeouts, topics.paymentOutcomes],
  },
  // Calls the payment provider for the workflow's commands. Ordered retries keep an order's void or
  // refund behind the authorization or capture still being retried (one key: the order id).
  payments: { groupId: 'payments-service', topics: [topics.paymentCommands], orderedRetries: true },
  email: { groupId: 'email-service', topics: [topics.orderCreated, topics.orderFollowUps, topics.orderPaymentFailed] },
  analytics: { groupId: 'analytics-service', topics: [topics.orderCreated] },
  // Only rows rejected for their data reach its retry tiers (an outage pauses consumption instead),
  // so a short ladder: 1, 2, 4 s, then the DLQ.
  batchIngestion: { groupId: 'batch-ingestion', topics: [topics.analyticsEvents], retry: { attempts: 4 } },
  // The inventory's replier, a group of its own beside the saga's. A request is worth a retry or
  // two within its deadline (past it the replier drops it), not the saga's minute-long ladder.
  inventoryAvailability: {
    groupId: 'inventory-availability',
    topics: [topics.availabilityRequests],
    retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000 },
  },
  // Turns events into webhook deliveries and runs their attempts. An attempt happens outside the
  // handler (services/webhooks/deliverer.ts), so the handler's own retry ladder covers the database only.
  webhooks: { groupId: 'webhooks-service', topics: [topics.orderStatusChanged, topics.exportCompleted, topics.webhookDeliveriesDue] },
} as const satisfies Record<string, ConsumerGroupDeclaration>;

/**
 * Reply consumers of request-reply: each order API instance reads the reply topic in a group of its
 * own, `<prefix>-<instance>-<start>` (shared/request-reply/requester.ts says why).
 */
export const replyGroupPrefixes = { orderApi: 'order-api-replies' } as const;

export const topology: Topology = { topics, groups: consumerGroups };
