import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import { topics } from '../../shared/contracts/topics.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { DUPLICATE } from '../../shared/kit/handle-once.js';
import { instanceId } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import type { OutboxMessage } from '../../shared/outbox/outbox.js';
import type { InventoryRejected, InventoryReleased, InventoryReserved, InventoryReserveRequested, OrderCancelled } from '../../shared/contracts/schemas.js';
import { release, reserve } from './stock.js';

const decisions = new Counter({
  name: 'inventory_decisions_total',
  help: 'Orders handled by inventory, by outcome (reserved, rejected, released; duplicates: pipeline_duplicate_events_total)',
  labelNames: ['outcome'] as const,
  registers: [metrics],
});

/**
 * The inventory's side of the saga. The effect on stock, the processed-event record (handleOnce)
 * and the answering event (into the outbox) commit in one transaction: a redelivered event finds
 * its claim and changes nothing, and the answer is published once the transaction commits, so it
 * can be neither lost (a crash after the commit leaves it in the outbox) nor doubled by a
 * redelivery (the claim stops the second run; only a relay crash between send and marking can
 * publish a row twice, with the same event id, which the order service's claim absorbs).
 */
export class InventoryHandlers {
  constructor(private readonly effects: Effects) {}

  /** The workflow asks for the order's stock once its payment is authorized. */
  onReserveRequested = async (event: InboundEvent<InventoryReserveRequested>): Promise<void> => {
    const order = event.value;
    const outcome = await this.effects.handleOnce(event, async (client) => {
      const result = await reserve(client, order.orderId, event.eventId, order.items);
      const eventId = randomUUID();
      const message: OutboxMessage<InventoryReserved> | OutboxMessage<InventoryRejected> =
        result.kind === 'reserved'
          ? {
              topic: topics.inventoryReserved,
              key: order.orderId,
              eventId,
              correlationId: event.correlationId,
              value: { eventId, orderId: order.orderId, causationId: event.eventId, items: result.lines, handledBy: instanceId, reservedAt: Date.now() },
            }
          : {
              topic: topics.inventoryRejected,
              key: order.orderId,
              eventId,
              correlationId: event.correlationId,
              value: {
                eventId,
                orderId: order.orderId,
                causationId: event.eventId,
                reason: `insufficient stock for ${result.shortages.map((s) => `${s.sku} (requested ${s.requested}, available ${s.available})`).join(', ')}`,
                shortages: result.shortages,
                handledBy: instanceId,
                rejectedAt: Date.now(),
              },
            };
      await this.effects.outbox.append(client, [message as OutboxMessage<unknown>]);
      return result;
    });
    if (outcome === DUPLICATE) return;
    decisions.inc({ outcome: outcome.kind });
    if (outcome.kind === 'reserved') event.logger.info({ orderId: order.orderId, lines: outcome.lines.length }, 'stock reserved');
    else event.logger.info({ orderId: order.orderId, shortages: outcome.shortages }, 'order rejected: insufficient stock');
  };

  onOrderCancelled = async (event: InboundEvent<OrderCancelled>): Promise<void> => {
    const { orderId } = event.value;
    const released = await this.effects.handleOnce(event, async (client) => {
      const lines = await release(client, orderId);
      const eventId = randomUUID();
      const value: InventoryReleased = { eventId, orderId, causationId: event.eventId, items: lines, handledBy: instanceId, releasedAt: Date.now() };
      await this.effects.outbox.append(client, [
        { topic: topics.inventoryReleased, key: orderId, eventId, correlationId: event.correlationId, value } as OutboxMessage<unknown>,
      ]);
      return lines;
    });
    if (released === DUPLICATE) return;
    decisions.inc({ outcome: 'released' });
    // Nothing held (never reserved, or released before) still answers, so the order's saga ends.
    if (released.length === 0) event.logger.warn({ orderId }, 'cancelled order held no stock; nothing released');
    else event.logger.info({ orderId, lines: released.length }, 'stock released');
  };
}
