import { randomUUID } from 'node:crypto';
import type { InboundEvent } from '../../shared/consumer/types.js';
import { topics } from '../../shared/contracts/topics.js';
import type { OrderStep } from '../../shared/contracts/schemas.js';
import type { PoolClient } from '../../shared/db.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { instanceId } from '../../shared/logger.js';

/** Reports a mail sent for an order on order.steps, through the outbox of the transaction that records it. */
export async function appendSentStep(
  outbox: Effects['outbox'],
  tx: PoolClient,
  cause: InboundEvent<unknown>,
  orderId: string,
  service: string,
  detail: string,
): Promise<void> {
  const eventId = randomUUID();
  const step: OrderStep = {
    eventId,
    orderId,
    causationId: cause.eventId,
    service,
    outcome: 'sent',
    detail,
    handledBy: instanceId,
    occurredAt: Date.now(),
  };
  await outbox.append(tx, [{ topic: topics.orderSteps, key: orderId, eventId, correlationId: cause.correlationId, value: step }]);
}
