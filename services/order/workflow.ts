import { randomUUID } from 'node:crypto';
import { topics } from '../../shared/contracts/topics.js';
import type {
  InventoryRejected,
  InventoryReleased,
  InventoryReserved,
  InventoryReserveRequested,
  OrderCancelled,
  OrderPaymentFailed,
  OrderStatusChanged,
  OrderStep,
  OrderTimeout,
  PaymentCommand,
  PaymentOutcome,
} from '../../shared/contracts/schemas.js';
import type { InboundEvent } from '../../shared/consumer/types.js';
import type { PoolClient } from '../../shared/db.js';
import { PermanentError } from '../../shared/errors.js';
import { DUPLICATE, type HandleOnce } from '../../shared/kit/handle-once.js';
import type { Outbox, OutboxMessage } from '../../shared/outbox/outbox.js';
import { orderJobs } from './timers.js';
import {
  announcedStatuses,
  attemptsOf,
  ruleFor,
  steps,
  type Command,
  type Effect,
  type OrderStatus,
  type Rule,
  type TimeoutKind,
  type Trigger,
} from './workflow-table.js';

/** The step timeouts and attempts (the service's configuration). */
export interface WorkflowTimers {
  /** The authorization's wait for the provider's answer (the article's 30 s). */
  authorizationTimeoutMs: number;
  /** Authorization attempts (the timeout re-sends the same command, same idempotency key) before REJECTED payment_timeout. */
  authorizationAttempts: number;
  /** The reservation's wait for inventory's answer. */
  reservationTimeoutMs: number;
  /** Capture, void, refund and release: each timeout sends the command again, until answered. */
  paymentStepTimeoutMs: number;
  /** The follow-up mail goes this long after the order was confirmed. */
  followUpDelayMs: number;
}

/** What the workflow needs of an order to act on it, read with its row locked. */
export interface WorkflowOrder {
  id: string;
  status: OrderStatus;
  statusReason: string | null;
  email: string;
  correlationId: string | null;
  clientId: string | null;
  totalCents: number;
  currency: string;
  cardToken: string | null;
  stepAttempt: number;
}

/** Who moved the order and with which event: the history row's "who" and "which event". */
interface Cause {
  trigger: Trigger | 'created' | 'timeout.retry';
  actor: string;
  eventId: string | null;
  topic: string | null;
  /** The reason an event brings (inventory's shortages), for rules whose reason is 'event'. */
  eventReason?: string | null;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An event the table does not expect in the order's state: to the DLQ (PERMANENT), its message naming the state. */
export class UnexpectedWorkflowEventError extends PermanentError {}

const paymentTriggers: Record<PaymentOutcome['outcome'], Trigger> = {
  AUTHORIZED: 'payment.authorized',
  DECLINED: 'payment.declined',
  CAPTURED: 'payment.captured',
  CAPTURE_FAILED: 'payment.capture-failed',
  VOIDED: 'payment.voided',
  REFUNDED: 'payment.refunded',
};

const paymentStatuses: Record<PaymentOutcome['outcome'], string> = {
  AUTHORIZED: 'authorized',
  DECLINED: 'declined',
  CAPTURED: 'captured',
  CAPTURE_FAILED: 'capture_failed',
  VOIDED: 'voided',
  REFUNDED: 'refunded',
};

interface Step {
  step: string;
  outcome: string;
  detail: unknown;
  handledBy: string;
  occurredAt: number;
}

/**
 * The order workflow (workflow-table.ts) run on events. Each event is handled in one transaction
 * with its claim (handleOnce) and the order's row locked: look the trigger up in the table for the
 * order's state, move the status, send the new state's command and schedule its timeout (or cancel
 * the timeout in a final state), apply the rule's effects through the outbox, write a history row.
 * So an answer and a timeout arriving together take turns, a redelivered event changes nothing,
 * and an event the table does not expect goes to the DLQ with the state named.
 */
export class OrderWorkflow {
  constructor(
    private readonly handleOnce: HandleOnce,
    private readonly outbox: Outbox,
    private readonly timers: WorkflowTimers,
    /** Test hook (the crash-at-every-step suite): SIGKILL right after a transition into one of these states commits, before its events are published. */
    private readonly crashAfter: ReadonlySet<string> = new Set(),
  ) {}

  /** In POST /orders' transaction: the order is PENDING; the authorization goes out with it, and its timeout is scheduled. */
  async start(tx: PoolClient, order: WorkflowOrder): Promise<void> {
    await this.enter(tx, order, 'PENDING', 1);
    await recordTransition(tx, order.id, null, 'PENDING', { trigger: 'created', actor: 'order-api', eventId: null, topic: null }, null, [steps.PENDING!.command], 1);
  }

  /** In POST /orders/:id/cancel's transaction, the order locked: CONFIRMED → CANCELLING, or why not. */
  async cancel(tx: PoolClient, order: WorkflowOrder, reason: string | null): Promise<boolean> {
    const rule = ruleFor(order.status, 'cancel');
    if (!rule) return false;
    await this.apply(tx, order, rule, { trigger: 'cancel', actor: 'client', eventId: null, topic: null, eventReason: reason });
    return true;
  }

  onPaymentOutcome = (event: InboundEvent<PaymentOutcome>) => {
    const outcome = event.value;
    return this.handle(event, outcome.orderId, paymentTriggers[outcome.outcome], outcome.reason, {
      step: 'payment',
      outcome: paymentStatuses[outcome.outcome],
      detail: { action: outcome.action, chargeId: outcome.chargeId, amountCents: Number(outcome.amountCents), reason: outcome.reason },
      handledBy: outcome.handledBy,
      occurredAt: outcome.occurredAt,
    }, async (tx) => {
      await tx.query(
        'UPDATE orders SET payment_status = $2, payment_charge_id = COALESCE($3, payment_charge_id), payment_updated_at = now() WHERE id = $1',
        [outcome.orderId, paymentStatuses[outcome.outcome], outcome.chargeId],
      );
    });
  };

  onReserved = (event: InboundEvent<InventoryReserved>) =>
    this.handle(event, event.value.orderId, 'inventory.reserved', null, {
      step: 'inventory',
      outcome: 'reserved',
      detail: { items: event.value.items },
      handledBy: event.value.handledBy,
      occurredAt: event.value.reservedAt,
    });

  onRejected = (event: InboundEvent<InventoryRejected>) =>
    this.handle(event, event.value.orderId, 'inventory.rejected', event.value.reason, {
      step: 'inventory',
      outcome: 'rejected',
      detail: { reason: event.value.reason, shortages: event.value.shortages },
      handledBy: event.value.handledBy,
      occurredAt: event.value.rejectedAt,
    });

  onReleased = (event: InboundEvent<InventoryReleased>) =>
    this.handle(event, event.value.orderId, 'inventory.released', null, {
      step: 'compensation',
      outcome: 'released',
      detail: { items: event.value.items },
      handledBy: event.value.handledBy,
      occurredAt: event.value.releasedAt,
    });

  /** What email and analytics did: recorded in any state, never a transition. */
  onStep = async (event: InboundEvent<OrderStep>) => {
    const orderId = event.value.orderId;
    if (!uuidPattern.test(orderId)) throw new PermanentError(`order id ${orderId} is not a UUID`);
    await this.handleOnce(event, async (tx) => {
      await lockOrder(tx, orderId);
      await recordStep(tx, orderId, {
        step: event.value.service,
        outcome: event.value.outcome,
        detail: event.value.detail,
        handledBy: event.value.handledBy,
        occurredAt: event.value.occurredAt,
      });
    });
  };

  /**
   * A step's timeout is due. Stale (the order moved on, or the step was retried since): nothing.
   * Otherwise the step is sent again (same idempotency key) with the next attempt's timeout, or,
   * after its last attempt, the state's timeout.exhausted rule applies.
   */
  onTimeout = async (event: InboundEvent<OrderTimeout>) => {
    const { orderId } = event.value;
    const guarded = (event.value.state ?? 'PENDING') as OrderStatus;
    if (!uuidPattern.test(orderId)) throw new PermanentError(`order id ${orderId} is not a UUID`);
    const outcome = await this.handleOnce(event, async (tx) => {
      const order = await lockOrder(tx, orderId);
      const step = steps[order.status];
      if (order.status !== guarded || order.stepAttempt !== event.value.attempt || !step) return `stale: order is ${order.status} attempt ${order.stepAttempt}`;
      const cause: Cause = { trigger: 'timeout.retry', actor: 'scheduler', eventId: event.eventId, topic: event.topic };
      if (order.stepAttempt < attemptsOf(step, this.timers.authorizationAttempts)) {
        const attempt = order.stepAttempt + 1;
        await tx.query('UPDATE orders SET step_attempt = $2, updated_at = now() WHERE id = $1', [orderId, attempt]);
        await this.enter(tx, { ...order, stepAttempt: attempt }, order.status, attempt);
        await recordTransition(tx, orderId, order.status, order.status, cause, order.statusReason, [step.command], attempt);
        return `retried ${step.command} (attempt ${attempt})`;
      }
      const rule = ruleFor(order.status, 'timeout.exhausted');
      if (!rule) throw new UnexpectedWorkflowEventError(`no timeout rule for state ${order.status}`);
      // GET /orders/:id shows that the order was ended by a timeout, and of which step.
      await recordStep(tx, orderId, {
        step: 'timeout',
        outcome: 'rejected',
        detail: { state: order.status, attempt: order.stepAttempt, scheduledAt: event.value.scheduledAt },
        handledBy: 'scheduler',
        occurredAt: Date.now(),
      });
      await this.apply(tx, order, rule, { ...cause, trigger: 'timeout.exhausted' });
      return `timed out: ${order.status} → ${rule.to}`;
    });
    if (outcome !== DUPLICATE) event.logger.info({ orderId, outcome }, 'order step timeout handled');
  };

  private async handle(
    event: InboundEvent<unknown>,
    orderId: string,
    trigger: Trigger,
    eventReason: string | null,
    step: Step,
    also?: (tx: PoolClient) => Promise<void>,
  ): Promise<void> {
    // Not one of ours (e.g. an event published by hand): no retry can make it known.
    if (!uuidPattern.test(orderId)) throw new PermanentError(`order id ${orderId} is not a UUID`);
    const outcome = await this.handleOnce(event, async (tx) => {
      const order = await lockOrder(tx, orderId);
      const rule = ruleFor(order.status, trigger);
      if (!rule) throw new UnexpectedWorkflowEventError(`${trigger} is not expected in state ${order.status} (order ${orderId})`);
      await recordStep(tx, orderId, step);
      await also?.(tx);
      return this.apply(tx, order, rule, { trigger, actor: step.handledBy, eventId: event.eventId, topic: event.topic, eventReason });
    });
    if (outcome === DUPLICATE) return;
    if (this.crashAfter.has(outcome)) process.kill(process.pid, 'SIGKILL');
    event.logger.info({ orderId, trigger, outcome }, 'order workflow event applied');
  }

  /** Applies a rule to a locked order: status, the new state's step, the effects, the announcement, the history row. */
  private async apply(tx: PoolClient, order: WorkflowOrder, rule: Rule, cause: Cause): Promise<string> {
    const to = rule.to === 'same' ? order.status : rule.to;
    const reason = rule.reason === 'event' ? (cause.eventReason ?? null) : (rule.reason ?? (rule.to === 'same' ? order.statusReason : null));
    const moved = rule.to !== 'same';
    if (moved) {
      // A cancel's reason is the client's; a final state without a reason of its own keeps the one that led there.
      const statusReason = cause.trigger === 'cancel' ? (cause.eventReason ?? null) : (reason ?? order.statusReason);
      await tx.query('UPDATE orders SET status = $2, status_reason = $3, step_attempt = 1, updated_at = now() WHERE id = $1', [order.id, to, statusReason]);
      await this.enter(tx, { ...order, status: to, statusReason, stepAttempt: 1 }, to, 1);
      if (announcedStatuses.has(to)) await this.announce(tx, order, to, statusReason);
    }
    const effects = rule.effects ?? [];
    for (const effect of effects) await this.effect(tx, { ...order, statusReason: reason ?? order.statusReason }, effect);
    if (moved || effects.length > 0) {
      const entered = steps[to];
      await recordTransition(tx, order.id, order.status, to, cause, reason, [...(moved && entered ? [entered.command] : []), ...effects], moved ? 1 : order.stepAttempt);
    }
    return moved ? to : effects.length > 0 ? `${order.status}: ${effects.join(', ')}` : `${order.status}: recorded`;
  }

  /** Entering a state: its step's command and timeout, or (a state without a step) no timeout left. */
  private async enter(tx: PoolClient, order: WorkflowOrder, state: OrderStatus, attempt: number): Promise<void> {
    const step = steps[state];
    if (!step) {
      await orderJobs.cancelStepTimeout(tx, order.id);
      return;
    }
    await this.command(tx, order, step.command, attempt);
    await orderJobs.scheduleStepTimeout(tx, { orderId: order.id, state, attempt, correlationId: order.correlationId }, this.timeoutOf(step.timeout));
  }

  private timeoutOf(kind: TimeoutKind): number {
    if (kind === 'authorization') return this.timers.authorizationTimeoutMs;
    return kind === 'reservation' ? this.timers.reservationTimeoutMs : this.timers.paymentStepTimeoutMs;
  }

  private async effect(tx: PoolClient, order: WorkflowOrder, effect: Effect): Promise<void> {
    switch (effect) {
      case 'mail-payment-failed': {
        const eventId = randomUUID();
        const value: OrderPaymentFailed = { eventId, orderId: order.id, email: order.email, reason: order.statusReason ?? 'payment_failed', failedAt: Date.now() };
        return this.append(tx, order, { topic: topics.orderPaymentFailed, key: order.id, value, eventId });
      }
      case 'schedule-follow-up':
        return orderJobs.scheduleFollowUp(tx, { orderId: order.id, email: order.email, correlationId: order.correlationId }, this.timers.followUpDelayMs);
      case 'cancel-follow-up':
        // A cancelled order gets no follow-up; if it went out already, there is nothing to take back.
        await orderJobs.cancelFollowUp(tx, order.id);
        return;
      default:
        return this.command(tx, order, effect, 1);
    }
  }

  /** A command of the workflow into the outbox: to payments, or to inventory. */
  private async command(tx: PoolClient, order: WorkflowOrder, command: Command, attempt: number): Promise<void> {
    const eventId = randomUUID();
    if (command === 'reserve') {
      const { rows } = await tx.query<{ sku: string; quantity: number; unit_price_cents: string }>(
        'SELECT sku, quantity, unit_price_cents FROM order_lines WHERE order_id = $1 ORDER BY line_no',
        [order.id],
      );
      const value: InventoryReserveRequested = {
        eventId,
        orderId: order.id,
        items: rows.map((row) => ({ sku: row.sku, quantity: row.quantity, unitPriceCents: Number(row.unit_price_cents) })),
        requestedAt: Date.now(),
      };
      return this.append(tx, order, { topic: topics.inventoryReserveRequested, key: order.id, value, eventId });
    }
    if (command === 'release') {
      const value: OrderCancelled = { eventId, orderId: order.id, reason: order.statusReason, cancelledAt: Date.now() };
      return this.append(tx, order, { topic: topics.orderCancelled, key: order.id, value, eventId });
    }
    const actions = { authorize: 'AUTHORIZE', capture: 'CAPTURE', void: 'VOID', refund: 'REFUND' } as const;
    const value: PaymentCommand = {
      eventId,
      orderId: order.id,
      action: actions[command],
      amountCents: order.totalCents,
      currency: order.currency,
      cardToken: command === 'authorize' ? order.cardToken : null,
      attempt,
      requestedAt: Date.now(),
    };
    return this.append(tx, order, { topic: topics.paymentCommands, key: order.id, value, eventId });
  }

  /** order.status-changed, in the transaction of the change: published if and only if the order moved. */
  private async announce(tx: PoolClient, order: WorkflowOrder, to: OrderStatus, reason: string | null): Promise<void> {
    const eventId = randomUUID();
    const value: OrderStatusChanged = {
      eventId,
      orderId: order.id,
      status: to,
      previousStatus: order.status,
      reason,
      changedAt: Date.now(),
      clientId: order.clientId,
    };
    await this.append(tx, order, { topic: topics.orderStatusChanged, key: order.id, value, eventId });
  }

  private append<T>(tx: PoolClient, order: WorkflowOrder, message: Omit<OutboxMessage<T>, 'correlationId'>): Promise<void> {
    return this.outbox.append(tx, [{ ...message, correlationId: order.correlationId ?? undefined } as OutboxMessage<unknown>]);
  }
}

/** The order, its row locked: every handler takes this lock first, so events for one order take turns. */
export async function lockOrder(tx: PoolClient, orderId: string, clientId?: string): Promise<WorkflowOrder> {
  const order = await findLocked(tx, orderId, clientId);
  if (!order) throw new PermanentError(`order ${orderId} is unknown to the order service`);
  return order;
}

export async function findLocked(tx: PoolClient, orderId: string, clientId?: string): Promise<WorkflowOrder | undefined> {
  const { rows } = await tx.query<{
    status: OrderStatus;
    status_reason: string | null;
    email: string;
    correlation_id: string | null;
    client_id: string | null;
    total_cents: string;
    currency: string;
    card_token: string | null;
    step_attempt: number;
  }>(
    `SELECT status, status_reason, email, correlation_id, client_id, total_cents, currency, card_token, step_attempt
       FROM orders WHERE id = $1 AND ($2::uuid IS NULL OR client_id = $2) FOR UPDATE`,
    [orderId, clientId ?? null],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: orderId,
    status: row.status,
    statusReason: row.status_reason,
    email: row.email,
    correlationId: row.correlation_id,
    clientId: row.client_id,
    totalCents: Number(row.total_cents),
    currency: row.currency,
    cardToken: row.card_token,
    stepAttempt: row.step_attempt,
  };
}

async function recordTransition(
  tx: PoolClient,
  orderId: string,
  from: OrderStatus | null,
  to: OrderStatus,
  cause: Cause,
  reason: string | null,
  effects: readonly string[],
  attempt: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO order_transitions (order_id, from_status, to_status, trigger, reason, effects, attempt, event_id, topic, actor)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [orderId, from, to, cause.trigger, reason, effects, attempt, cause.eventId, cause.topic, cause.actor],
  );
}

async function recordStep(tx: PoolClient, orderId: string, step: Step): Promise<void> {
  await tx.query(
    `INSERT INTO order_steps (order_id, step, outcome, detail, handled_by, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (order_id, step) DO UPDATE SET outcome = EXCLUDED.outcome, detail = EXCLUDED.detail,
       handled_by = EXCLUDED.handled_by, occurred_at = EXCLUDED.occurred_at, recorded_at = now()
     WHERE $7`,
    [orderId, step.step, step.outcome, JSON.stringify(step.detail ?? null), step.handledBy, new Date(step.occurredAt), step.step === 'payment'],
  );
}
