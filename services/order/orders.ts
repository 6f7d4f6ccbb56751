import { withTransaction, type Pool } from '../../shared/db.js';
import { topics } from '../../shared/contracts/topics.js';
import type { Outbox } from '../../shared/outbox/outbox.js';
import type { OrderCreated } from '../../shared/contracts/schemas.js';
import { jobKeys } from '../../shared/contracts/topics.js';
import { IdempotencyKeys, type EarlierRequest, type IdempotencyKeyClaim } from '../../shared/idempotency/idempotency-keys.js';
import type { OrderStatus } from './workflow-table.js';
import { findLocked, type OrderWorkflow } from './workflow.js';

export type { OrderStatus } from './workflow-table.js';

/** The card token an order without one pays with (the simulator's approving test card). */
export const DEFAULT_CARD_TOKEN = 'tok_visa';

export interface PricedLine {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

export interface NewOrder {
  id: string;
  /** The API client that placed it: the only one that sees it. */
  clientId: string;
  eventId: string;
  correlationId: string;
  customerId: string;
  email: string;
  currency: string;
  lines: PricedLine[];
  totalCents: number;
  /** The payment provider's card token; never logged. */
  cardToken: string;
  createdAt: number;
}

/** The body of the 202 a POST answers, stored with its Idempotency-Key to be answered again. */
export interface AcceptedOrder {
  orderId: string;
  status: 'PENDING';
}

/** The order API's Idempotency-Keys (per client, 24 h). */
export const orderIdempotencyKeys = new IdempotencyKeys({ table: 'order_idempotency_keys', resourceColumn: 'order_id' });

export type InsertResult = { kind: 'created'; response: AcceptedOrder } | { kind: 'replay'; earlier: EarlierRequest };

/**
 * Writes the order, its lines, its Idempotency-Key and its order.created event in one transaction
 * (the transactional outbox): the order exists if and only if its event will be published.
 * A concurrent request with the same key waits on the key's row and then gets the first answer.
 */
export async function insertOrder(
  pool: Pool,
  outbox: Outbox,
  workflow: OrderWorkflow,
  order: NewOrder,
  idempotency?: IdempotencyKeyClaim,
): Promise<InsertResult> {
  const response: AcceptedOrder = { orderId: order.id, status: 'PENDING' };
  return withTransaction(pool, async (client): Promise<InsertResult> => {
    if (idempotency) {
      const claim = await orderIdempotencyKeys.claim(client, idempotency, order.id);
      if (claim.kind === 'taken') return { kind: 'replay', earlier: claim };
    }
    // The order and its lines in one statement: a round trip fewer per order.
    await client.query(
      `WITH new_order AS (
         INSERT INTO orders (id, customer_id, email, currency, total_cents, status, correlation_id, created_at, updated_at, client_id, card_token)
         VALUES ($1, $2, $3, $4, $5, 'PENDING', $6, $7, $7, $11, $12) RETURNING id)
       INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents)
       SELECT new_order.id, l.line_no, l.sku, l.quantity, l.price
         FROM new_order, unnest($8::text[], $9::int[], $10::bigint[]) WITH ORDINALITY AS l (sku, quantity, price, line_no)`,
      [
        order.id,
        order.customerId,
        order.email,
        order.currency,
        order.totalCents,
        order.correlationId,
        new Date(order.createdAt),
        order.lines.map((l) => l.sku),
        order.lines.map((l) => l.quantity),
        order.lines.map((l) => l.unitPriceCents),
        order.clientId,
        order.cardToken,
      ],
    );
    const event: OrderCreated = {
      eventId: order.eventId,
      orderId: order.id,
      customerId: order.customerId,
      email: order.email,
      items: order.lines,
      totalCents: order.totalCents,
      currency: order.currency,
      createdAt: order.createdAt,
      clientId: order.clientId,
    };
    await outbox.append(client, [
      { topic: topics.orderCreated, key: order.id, value: event, eventId: order.eventId, correlationId: order.correlationId },
    ]);
    // The workflow starts in the same transaction: the authorization command and its timeout.
    await workflow.start(client, {
      id: order.id,
      status: 'PENDING',
      statusReason: null,
      email: order.email,
      correlationId: order.correlationId,
      clientId: order.clientId,
      totalCents: order.totalCents,
      currency: order.currency,
      cardToken: order.cardToken,
      stepAttempt: 1,
    });
    return { kind: 'created', response };
  });
}

export interface StepView {
  outcome: string;
  detail: unknown;
  handledBy: string | null;
  at: string;
}

export interface OrderView {
  orderId: string;
  status: OrderStatus;
  statusReason: string | null;
  customerId: string;
  currency: string;
  totalCents: number;
  items: PricedLine[];
  createdAt: string;
  updatedAt: string;
  /** What each downstream step did: inventory, email, analytics and, after a cancel, compensation. */
  steps: Record<string, StepView>;
  /** The order's jobs on the scheduler, by type (order-timeout: the current step's; order-follow-up): pending, dispatched or cancelled. */
  schedules: Record<string, { state: string; dueAt: string }>;
  /** The payment as the provider last answered: authorized, declined, captured, voided, refunded (null: not answered yet). */
  payment: { status: string | null; chargeId: string | null; amountCents: number; currency: string; updatedAt: string | null };
}

export interface TransitionView {
  from: OrderStatus | null;
  to: OrderStatus;
  trigger: string;
  reason: string | null;
  effects: string[];
  attempt: number;
  eventId: string | null;
  topic: string | null;
  by: string;
  at: string;
}


/** The order of this client; another client's is not found. */
export async function findOrder(pool: Pool, clientId: string, id: string): Promise<OrderView | undefined> {
  const { rows } = await pool.query<{
    id: string;
    status: OrderStatus;
    status_reason: string | null;
    customer_id: string;
    currency: string;
    total_cents: string;
    created_at: Date;
    updated_at: Date;
    items: PricedLine[];
    steps: Record<string, StepView> | null;
    schedules: Record<string, { state: string; dueAt: string }> | null;
    payment_status: string | null;
    payment_charge_id: string | null;
    payment_updated_at: Date | null;
  }>(
    `SELECT o.id, o.status, o.status_reason, o.customer_id, o.currency, o.total_cents, o.created_at, o.updated_at,
            o.payment_status, o.payment_charge_id, o.payment_updated_at,
            (SELECT json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents)
                             ORDER BY l.line_no)
               FROM order_lines l WHERE l.order_id = o.id) AS items,
            (SELECT json_object_agg(s.step, json_build_object('outcome', s.outcome, 'detail', s.detail,
                                    'handledBy', s.handled_by, 'at', s.occurred_at))
               FROM order_steps s WHERE s.order_id = o.id) AS steps,
            (SELECT json_object_agg(j.job_type, json_build_object('state', j.state, 'dueAt', j.due_at))
               FROM scheduled_jobs j WHERE j.job_key IN ($2, $3)) AS schedules
       FROM orders o WHERE o.id = $1 AND o.client_id = $4`,
    [id, jobKeys.orderTimeout(id), jobKeys.orderFollowUp(id), clientId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    orderId: row.id,
    status: row.status,
    statusReason: row.status_reason,
    customerId: row.customer_id,
    currency: row.currency,
    totalCents: Number(row.total_cents),
    items: row.items,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    steps: row.steps ?? {},
    schedules: row.schedules ?? {},
    payment: {
      status: row.payment_status,
      chargeId: row.payment_charge_id,
      amountCents: Number(row.total_cents),
      currency: row.currency,
      updatedAt: row.payment_updated_at?.toISOString() ?? null,
    },
  };
}

/** The order's workflow transitions, oldest first; undefined when the order is not this client's. */
export async function findHistory(pool: Pool, clientId: string, id: string): Promise<TransitionView[] | undefined> {
  const { rows: owned } = await pool.query('SELECT 1 FROM orders WHERE id = $1 AND client_id = $2', [id, clientId]);
  if (owned.length === 0) return undefined;
  const { rows } = await pool.query<{
    from_status: OrderStatus | null;
    to_status: OrderStatus;
    trigger: string;
    reason: string | null;
    effects: string[];
    attempt: number;
    event_id: string | null;
    topic: string | null;
    actor: string;
    at: Date;
  }>('SELECT from_status, to_status, trigger, reason, effects, attempt, event_id, topic, actor, at FROM order_transitions WHERE order_id = $1 ORDER BY id', [id]);
  return rows.map((row) => ({
    from: row.from_status,
    to: row.to_status,
    trigger: row.trigger,
    reason: row.reason,
    effects: row.effects,
    attempt: row.attempt,
    eventId: row.event_id,
    topic: row.topic,
    by: row.actor,
    at: row.at.toISOString(),
  }));
}

export type CancelResult =
  | { kind: 'not-found' }
  | { kind: 'cancelling'; status: 'CANCELLING' }
  | { kind: 'already'; status: OrderStatus }
  | { kind: 'conflict'; status: OrderStatus };

/**
 * Starts the compensation of a confirmed order through the workflow, in one transaction: status
 * CANCELLING, the release command to inventory; inventory's answer moves it on to the refund.
 */
export async function requestCancel(pool: Pool, workflow: OrderWorkflow, clientId: string, id: string, reason: string | null): Promise<CancelResult> {
  return withTransaction(pool, async (client): Promise<CancelResult> => {
    const order = await findLocked(client, id, clientId);
    if (order === undefined) return { kind: 'not-found' };
    const { status } = order;
    if (status === 'CANCELLING' || status === 'REFUNDING' || status === 'CANCELLED') return { kind: 'already', status };
    if (!(await workflow.cancel(client, order, reason))) return { kind: 'conflict', status };
    return { kind: 'cancelling', status: 'CANCELLING' };
  });
}
