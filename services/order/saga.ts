import type { PoolClient } from '../../shared/db.js';
import { PermanentError } from '../../shared/errors.js';
import type { InboundEvent } from '../../shared/consumer/types.js';
import { DUPLICATE, type HandleOnce } from '../../shared/kit/handle-once.js';
import type { InventoryRejected, InventoryReleased, InventoryReserved, OrderStep } from '../../shared/contracts/schemas.js';
import type { OrderStatus } from './orders.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Step {
  step: string;
  outcome: string;
  detail: unknown;
  handledBy: string;
  occurredAt: number;
}

/**
 * The order's side of the choreographed saga. Each handler runs in one transaction with its claim (handleOnce),
 * so a redelivered event changes nothing; status only moves along PENDING → CONFIRMED | REJECTED and
 * CONFIRMED → CANCELLING → CANCELLED, so an out-of-place event is logged and ignored.
 */
export class OrderSaga {
  constructor(private readonly handleOnce: HandleOnce) {}

  onReserved = (event: InboundEvent<InventoryReserved>) =>
    this.apply(event, event.value.orderId, { from: 'PENDING', to: 'CONFIRMED', reason: null }, {
      step: 'inventory',
      outcome: 'reserved',
      detail: { items: event.value.items },
      handledBy: event.value.handledBy,
      occurredAt: event.value.reservedAt,
    });

  onRejected = (event: InboundEvent<InventoryRejected>) =>
    this.apply(event, event.value.orderId, { from: 'PENDING', to: 'REJECTED', reason: event.value.reason }, {
      step: 'inventory',
      outcome: 'rejected',
      detail: { reason: event.value.reason, shortages: event.value.shortages },
      handledBy: event.value.handledBy,
      occurredAt: event.value.rejectedAt,
    });

  onReleased = (event: InboundEvent<InventoryReleased>) =>
    this.apply(event, event.value.orderId, { from: 'CANCELLING', to: 'CANCELLED', reason: undefined }, {
      step: 'compensation',
      outcome: 'released',
      detail: { items: event.value.items },
      handledBy: event.value.handledBy,
      occurredAt: event.value.releasedAt,
    });

  onStep = (event: InboundEvent<OrderStep>) =>
    this.apply(event, event.value.orderId, undefined, {
      step: event.value.service,
      outcome: event.value.outcome,
      detail: event.value.detail,
      handledBy: event.value.handledBy,
      occurredAt: event.value.occurredAt,
    });

  private async apply(
    event: InboundEvent<unknown>,
    orderId: string,
    transition: { from: OrderStatus; to: OrderStatus; reason: string | null | undefined } | undefined,
    step: Step,
  ): Promise<void> {
    // Not one of ours (e.g. an event published by hand): no retry can make it known.
    if (!uuidPattern.test(orderId)) throw new PermanentError(`order id ${orderId} is not a UUID`);
    const outcome = await this.handleOnce(event, async (client) => {
      const { rows } = await client.query<{ status: OrderStatus }>('SELECT status FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
      const status = rows[0]?.status;
      if (status === undefined) throw new PermanentError(`order ${orderId} is unknown to the order service`);
      await recordStep(client, orderId, step);
      if (!transition) return 'step recorded';
      if (status !== transition.from) return `ignored: order is ${status}, not ${transition.from}`;
      await client.query(
        'UPDATE orders SET status = $2, status_reason = COALESCE($3, status_reason), updated_at = now() WHERE id = $1',
        [orderId, transition.to, transition.reason ?? null],
      );
      return transition.to;
    });
    if (outcome === DUPLICATE) return;
    event.logger.info({ orderId, step: step.step, stepOutcome: step.outcome, outcome }, 'order saga event applied');
  }
}

async function recordStep(client: PoolClient, orderId: string, step: Step): Promise<void> {
  await client.query(
    `INSERT INTO order_steps (order_id, step, outcome, detail, handled_by, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [orderId, step.step, step.outcome, JSON.stringify(step.detail ?? null), step.handledBy, new Date(step.occurredAt)],
  );
}
