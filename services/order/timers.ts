import { randomUUID } from 'node:crypto';
import { jobKeys, topics } from '../../shared/contracts/topics.js';
import type { OrderFollowUp, OrderTimeout } from '../../shared/contracts/schemas.js';
import type { PoolClient } from '../../shared/db.js';
import { ScheduledJobs, type CancelOutcome } from '../../shared/scheduler/jobs.js';

const jobs = new ScheduledJobs();

/**
 * The order's jobs on the platform scheduler, each written in the transaction of the change that
 * causes it: the job exists if and only if that change committed.
 */
export const orderJobs = {
  /**
   * The timeout of the workflow step the order is in (workflow-table.ts): one job per order, moved
   * ('replace') each time the order enters a step or retries it; the event names the state and the
   * attempt, so a timeout that fires as the order moves on is recognised as stale.
   */
  async scheduleStepTimeout(tx: PoolClient, step: { orderId: string; state: string; attempt: number; correlationId: string | null }, afterMs: number): Promise<void> {
    const eventId = randomUUID();
    const value: OrderTimeout = { eventId, orderId: step.orderId, scheduledAt: Date.now(), state: step.state, attempt: step.attempt };
    await jobs.schedule(tx, {
      key: jobKeys.orderTimeout(step.orderId),
      type: 'order-timeout',
      dueAt: { afterMs },
      topic: topics.orderTimeouts,
      message: { key: step.orderId, value, eventId, correlationId: step.correlationId ?? undefined },
      mode: 'replace',
    });
  },

  /** A final state (or CONFIRMED, waiting for the client) has no step to time out. */
  cancelStepTimeout(tx: PoolClient, orderId: string): Promise<CancelOutcome> {
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
