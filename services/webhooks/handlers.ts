import type { InboundEvent } from '../../shared/consumer/types.js';
import type { ExportCompleted, OrderStatusChanged, WebhookDeliveryDue } from '../../shared/contracts/schemas.js';
import type { Deliverer } from './deliverer.js';
import type { Deliveries } from './deliveries.js';
import { exportCompletedEvent, orderStatusEvent, type WebhookEvent } from './event-types.js';

/**
 * The webhooks group's handlers: each writes durable state in one short transaction, hands the
 * attempts to the deliverer and returns; nothing waits for an endpoint here. Both are idempotent by
 * their rows (a message's deliveries are unique per endpoint; a job counts attempts), so a
 * redelivered event queues nothing twice.
 */
export class WebhookHandlers {
  constructor(
    private readonly deliveries: Pick<Deliveries, 'createForEvent' | 'requeue'>,
    private readonly deliverer: Pick<Deliverer, 'enqueue'>,
  ) {}

  onOrderStatusChanged = (event: InboundEvent<OrderStatusChanged>): Promise<void> => this.onEvent(event, orderStatusEvent(event.value));

  onExportCompleted = (event: InboundEvent<ExportCompleted>): Promise<void> => this.onEvent(event, exportCompletedEvent(event.value));

  onDeliveryDue = async (event: InboundEvent<WebhookDeliveryDue>): Promise<void> => {
    const ref = await this.deliveries.requeue(event.value);
    if (ref) this.deliverer.enqueue([ref]);
  };

  private async onEvent(event: InboundEvent<unknown>, webhook: WebhookEvent | undefined): Promise<void> {
    if (!webhook) return;
    const refs = await this.deliveries.createForEvent(webhook);
    if (refs.length > 0) event.logger.info({ messageId: webhook.messageId, type: webhook.type, deliveries: refs.length }, 'webhook deliveries created');
    this.deliverer.enqueue(refs);
  }
}
