import { randomUUID } from 'node:crypto';
import { jobKeys, topics } from '../../shared/contracts/topics.js';
import type { OrderFollowUp, OrderTimeout } from '../../shared/contracts/schemas.js';
import type { PoolClient } from '../../shared/db.js';
import { ScheduledJobs, type CancelOutcome } from '../../shared/scheduler/jobs.js';

/** How long the order's scheduled jobs wait (the service's configuration). */
export interface OrderTimers {
  /** An order still PENDING this long after it was taken ends REJECTED (timeout). */
  pendingTimeoutMs: number;
  /** The follow-up mail goes this long after the order was confirmed. */
  followUpDelayMs: number;
}

const jobs = new ScheduledJobs();

/**
 * The order's jobs on the platform scheduler, each written in the transaction of the change that
 * causes it: the job exists if and only if that change committed.
 */
export const orderJobs = {
  async schedulePendingTimeout(tx: PoolClient, orderId: string, correlationId: string, afterMs: number): Promise<void> {
    const eventId = randomUUID();
    const value: OrderTimeout = { eventId, orderId, scheduledAt: Date.now() };
    await jobs.schedule(tx, {
      key: jobKeys.orderTimeout(orderId),
      type: 'order-timeout',
      dueAt: { afterMs },
      topic: topics.orderTimeouts,
      message: { key: orderId, value, eventId, correlationId },
      mode: 'keep',
    });
  },

  cancelPendingTimeout(tx: PoolClient, orderId: string): Promise<CancelOutcome> {
    return jobs.cancel(tx, jobKeys.orderTimeout(orderId));
  },

  async scheduleFollowUp(tx: PoolClient, order: { orderId: string; email: string; correlationId: string | null }, afterMs: number): Promise<void> {
    const eventId = randomUUID();
    const value: OrderFollowUp = { eventId, orderId: order.orderId, email: order.email, confirmedAt: Date.now() };
    await jobs.schedule(tx, {
      key: jobKeys.orderFollowUp(order.orderId),
      type: 'order-follow-up',
      dueAt: { afterMs },
      topic: topics.orderFollowUps,
      message: { key: order.orderId, value, eventId, correlationId: order.correlationId ?? undefined },
      mode: 'keep',
    });
  },

  cancelFollowUp(tx: PoolClient, orderId: string): Promise<CancelOutcome> {
    return jobs.cancel(tx, jobKeys.orderFollowUp(orderId));
  },
};
