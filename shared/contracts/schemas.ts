import { declareSchema } from '../registry/schema.js';
import type {
  AnalyticsEvent,
  ExportCompleted,
  ExportRequested,
  AvailabilityReply,
  AvailabilityRequest,
  InventoryRejected,
  InventoryReleased,
  InventoryReserved,
  OrderCancelled,
  OrderCreated,
  OrderFollowUp,
  OrderStatusChanged,
  OrderStep,
  OrderTimeout,
  WebhookDeliveryDue,
  PaymentCommand,
  PaymentOutcome,
  InventoryReserveRequested,
  OrderPaymentFailed,
} from './types.generated.js';

export type * from './types.generated.js';
export type { SchemaDeclaration, ValueOf } from '../registry/schema.js';

export const schemasDir = new URL('../../schemas/', import.meta.url);

/** The schema catalog: every value schema of the pipeline, from schemas/*.avsc. */
export const schemas = {
  OrderCreated: declareSchema<OrderCreated>(schemasDir, 'order-created.avsc'),
  AnalyticsEvent: declareSchema<AnalyticsEvent>(schemasDir, 'analytics-event.avsc'),
  OrderCancelled: declareSchema<OrderCancelled>(schemasDir, 'order-cancelled.avsc'),
  InventoryReserved: declareSchema<InventoryReserved>(schemasDir, 'inventory-reserved.avsc'),
  InventoryRejected: declareSchema<InventoryRejected>(schemasDir, 'inventory-rejected.avsc'),
  InventoryReleased: declareSchema<InventoryReleased>(schemasDir, 'inventory-released.avsc'),
  OrderStep: declareSchema<OrderStep>(schemasDir, 'order-step.avsc'),
  OrderTimeout: declareSchema<OrderTimeout>(schemasDir, 'order-timeout.avsc'),
  OrderFollowUp: declareSchema<OrderFollowUp>(schemasDir, 'order-follow-up.avsc'),
  ExportRequested: declareSchema<ExportRequested>(schemasDir, 'export-requested.avsc'),
  ExportCompleted: declareSchema<ExportCompleted>(schemasDir, 'export-completed.avsc'),
  AvailabilityRequest: declareSchema<AvailabilityRequest>(schemasDir, 'availability-request.avsc'),
  AvailabilityReply: declareSchema<AvailabilityReply>(schemasDir, 'availability-reply.avsc'),
  OrderStatusChanged: declareSchema<OrderStatusChanged>(schemasDir, 'order-status-changed.avsc'),
  WebhookDeliveryDue: declareSchema<WebhookDeliveryDue>(schemasDir, 'webhook-delivery-due.avsc'),
  PaymentCommand: declareSchema<PaymentCommand>(schemasDir, 'payment-command.avsc'),
  PaymentOutcome: declareSchema<PaymentOutcome>(schemasDir, 'payment-outcome.avsc'),
  InventoryReserveRequested: declareSchema<InventoryReserveRequested>(schemasDir, 'inventory-reserve-requested.avsc'),
  OrderPaymentFailed: declareSchema<OrderPaymentFailed>(schemasDir, 'order-payment-failed.avsc'),
};
