import type { ExportCompleted, OrderStatusChanged } from '../../shared/contracts/schemas.js';

/**
 * The event types clients subscribe to, by name. A new source adds its names here, a function
 * making its webhook below, and its topic's handler in handlers.ts and main.ts.
 */
export const eventTypes = ['order.confirmed', 'order.rejected', 'order.cancelled', 'export.completed'] as const;
export type EventType = (typeof eventTypes)[number];

/** What a webhook carries: its type, when it happened, and the data (ids and outcomes, no personal data). */
export interface WebhookEvent {
  /** The webhook-id: stable across every attempt at every endpoint. */
  messageId: string;
  type: EventType;
  occurredAt: number;
  data: Record<string, unknown>;
  /** The API client whose order or export it is: only that client's endpoints get it (none when null). */
  clientId: string | null;
}

const statusTypes: Record<string, EventType> = { CONFIRMED: 'order.confirmed', REJECTED: 'order.rejected', CANCELLED: 'order.cancelled' };

/** The webhook of an order status change; undefined for a status no client subscribes to. */
export function orderStatusEvent(change: OrderStatusChanged): WebhookEvent | undefined {
  const type = statusTypes[change.status];
  if (!type) return undefined;
  return {
    messageId: `msg_${change.eventId}`,
    type,
    occurredAt: change.changedAt,
    data: { orderId: change.orderId, status: change.status, previousStatus: change.previousStatus, reason: change.reason },
    clientId: change.clientId ?? null,
  };
}

/** The webhook of an export that ended (SUCCEEDED, FAILED or CANCELLED): where to fetch it, or why it failed. */
export function exportCompletedEvent(done: ExportCompleted): WebhookEvent {
  return {
    messageId: `msg_${done.eventId}`,
    type: 'export.completed',
    occurredAt: done.completedAt,
    data: { exportId: done.exportId, kind: done.kind, status: done.status, rows: done.rows, resultUrl: done.resultUrl, error: done.error },
    clientId: done.clientId ?? null,
  };
}

/** The body every attempt sends and signs (the Standard Webhooks payload shape). */
export function bodyOf(event: WebhookEvent): string {
  return JSON.stringify({ type: event.type, timestamp: new Date(event.occurredAt).toISOString(), data: event.data });
}
