import { randomUUID } from 'node:crypto';
import type { PoolClient } from '../../shared/db.js';
import { PermanentError } from '../../shared/errors.js';
import type { InboundEvent } from '../../shared/consumer/types.js';
import { topics } from '../../shared/contracts/topics.js';
import { DUPLICATE, type HandleOnce } from '../../shared/kit/handle-once.js';
import type { Outbox } from '../../shared/outbox/outbox.js';
import type {
  InventoryRejected,
  InventoryReleased,
  InventoryReserved,
  OrderCancelled,
  OrderStatusChanged,
  OrderStep,
  OrderTimeout,
} from '../../shared/contracts/schemas.js';
import type { OrderStatus } from './orders.js';
import { orderJobs, type OrderTimers } from './timers.js';

/** The statuses a client hears about (order.status-changed, then webhooks); PENDING and CANCELLING are on the way. */
export const announcedStatuses: ReadonlySet<OrderStatus> = new Set(['CONFIRMED', 'REJECTED', 'CANCELLED']);

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The reason a PENDING order that got no answer in time ends REJECTED with. */
export const TIMEOUT_REASON = 'timeout';

interface Step {
  step: string;
  outcome: string;
  detail: unknown;
  handledBy: string;
  occurredAt: number;
}

interface OrderRow {
  status: OrderStatus;
  status_reason: string | null;
  email: string;
  correlation_id: string | null;
  client_id: string | null;
}

type Transition = { from: OrderStatus; to: OrderStatus; reason: string | null | undefined };

/** What else a handler does in its transaction, knowing the order as it was and whether it moved. */
type Consequence = (client: PoolClient, order: OrderRow, moved: boolean) => Promise<void>;

/**
 * The order's side of the choreographed saga. Each handler runs in one transaction with its claim (handleOnce),
 * so a redelivered event changes nothing; status only moves along PENDING → CONFIRMED | REJECTED and
 * CONFIRMED → CANCELLING → CANCELLED, so an out-of-place event is logged and ignored. Every handler
 * locks the order's row first, so the inventory's answer and the pending timeout, arriving at the
 * same instant, take turns: the first moves the order, the second finds it moved (one outcome).
 */
export class OrderSaga {
  constructor(
    private readonly handleOnce: HandleOnce,
    private readonly outbox: Outbox,
    private readonly timers: OrderTimers,
  ) {}

  onReserved = (event: InboundEvent<InventoryReserved>) =>
    this.apply(
      event,
      event.value.orderId,
      { from: 'PENDING', to: 'CONFIRMED', reason: null },
      { step: 'inventory', outcome: 'reserved', detail: { items: event.value.items }, handledBy: event.value.handledBy, occurredAt: event.value.reservedAt },
      async (client, order, moved) => {
        if (moved) {
          await orderJobs.cancelPendingTimeout(client, event.value.orderId);
          await orderJobs.scheduleFollowUp(client, { orderId: event.value.orderId, email: order.email, correlationId: order.correlation_id }, this.timers.followUpDelayMs);
        } else if (order.status === 'REJECTED' && order.status_reason === TIMEOUT_REASON) {
          // The answer came after the timeout had ended the order: give the stock back.
          await this.release(client, event.value.orderId, order.correlation_id);
        }
      },
    );

  onRejected = (event: InboundEvent<InventoryRejected>) =>
    this.apply(
      event,
      event.value.orderId,
      { from: 'PENDING', to: 'REJECTED', reason: event.value.reason },
      {
        step: 'inventory',
        outcome: 'rejected',
        detail: { reason: event.value.reason, shortages: event.value.shortages },
        handledBy: event.value.handledBy,
        occurredAt: event.value.rejectedAt,
      },
      async (client, _order, moved) => {
        if (moved) await orderJobs.cancelPendingTimeout(client, event.value.orderId);
      },
    );

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

  /** The pending timeout is due: a still-PENDING order ends REJECTED, and whatever inventory may hold for it is released. */
  onTimeout = (event: InboundEvent<OrderTimeout>) =>
    this.apply(
      event,
      event.value.orderId,
      { from: 'PENDING', to: 'REJECTED', reason: TIMEOUT_REASON },
      { step: 'timeout', outcome: 'rejected', detail: { scheduledAt: event.value.scheduledAt }, handledBy: 'scheduler', occurredAt: Date.now() },
      async (client, order, moved) => {
        if (moved) await this.release(client, event.value.orderId, order.correlation_id);
      },
      { recordStepUnlessMoved: false },
    );

  private async release(client: PoolClient, orderId: string, correlationId: string | null): Promise<void> {
    const eventId = randomUUID();
    const value: OrderCancelled = { eventId, orderId, reason: TIMEOUT_REASON, cancelledAt: Date.now() };
    await this.outbox.append(client, [{ topic: topics.orderCancelled, key: orderId, value, eventId, correlationId: correlationId ?? undefined }]);
  }

  /** order.status-changed, in the transaction of the change: published if and only if the order moved. */
  private async announce(client: PoolClient, orderId: string, transition: Transition, order: OrderRow): Promise<void> {
    const eventId = randomUUID();
    const value: OrderStatusChanged = {
      eventId,
      orderId,
      status: transition.to,
      previousStatus: transition.from,
      reason: transition.reason ?? order.status_reason,
      changedAt: Date.now(),
      clientId: order.client_id,
    };
    await this.outbox.append(client, [{ topic: topics.orderStatusChanged, key: orderId, value, eventId, correlationId: order.correlation_id ?? undefined }]);
  }

  private async apply(
    event: InboundEvent<unknown>,
    orderId: string,
    transition: Transition | undefined,
    step: Step,
    consequence?: Consequence,
    options: { recordStepUnlessMoved?: boolean } = {},
  ): Promise<void> {
    // Not one of ours (e.g. an event published by hand): no retry can make it known.
    if (!uuidPattern.test(orderId)) throw new PermanentError(`order id ${orderId} is not a UUID`);
    const outcome = await this.handleOnce(event, async (client) => {
      const { rows } = await client.query<OrderRow>(
        'SELECT status, status_reason, email, correlation_id, client_id FROM orders WHERE id = $1 FOR UPDATE',
        [orderId],
      );
      const order = rows[0];
      if (order === undefined) throw new PermanentError(`order ${orderId} is unknown to the order service`);
      const moves = transition !== undefined && order.status === transition.from;
      if (moves || options.recordStepUnlessMoved !== false) await recordStep(client, orderId, step);
      if (moves) {
        await client.query(
          'UPDATE orders SET status = $2, status_reason = COALESCE($3, status_reason), updated_at = now() WHERE id = $1',
          [orderId, transition.to, transition.reason ?? null],
        );
        if (announcedStatuses.has(transition.to)) await this.announce(client, orderId, transition, order);
      }
      await consequence?.(client, order, moves);
      if (!transition) return 'step recorded';
      return moves ? transition.to : `ignored: order is ${order.status}, not ${transition.from}`;
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
