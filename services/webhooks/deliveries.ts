import { randomUUID } from 'node:crypto';
import { jobKeys, topics } from '../../shared/contracts/topics.js';
import type { WebhookDeliveryDue } from '../../shared/contracts/schemas.js';
import { withTransaction, type Pool, type PoolClient } from '../../shared/db.js';
import { instanceId } from '../../shared/logger.js';
import { ScheduledJobs } from '../../shared/scheduler/jobs.js';
import { bodyOf, type WebhookEvent } from './event-types.js';
import { nextDelayMs, type RetryPolicy } from './retry-schedule.js';

/** A delivery waiting for its next attempt, queued under its endpoint. */
export interface DeliveryRef {
  deliveryId: string;
  endpointId: string;
  /** The attempts it had when queued: an attempt only starts from that state. */
  attemptsDone: number;
}

/** An attempt this process holds the lease of: everything needed to send it. */
export interface ClaimedAttempt extends DeliveryRef {
  attempt: number;
  url: string;
  messageId: string;
  body: string;
  /** Every secret signing now: the current one and a rotated-out one within its overlap. */
  secrets: string[];
  timestampSeconds: number;
}

export interface AttemptResult {
  status?: number | undefined;
  error?: string | undefined;
  retryAfterMs?: number | undefined;
}

export type AttemptOutcome = 'succeeded' | 'retrying' | 'dead' | 'endpoint-disabled' | 'superseded';

export interface DeliveryView {
  id: string;
  messageId: string;
  eventType: string;
  state: string;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  attempts: Array<{ attempt: number; startedAt: string; finishedAt: string | null; webhookTimestamp: number; statusCode: number | null; error: string | null }>;
}

export interface DeliveryOptions {
  policy: RetryPolicy;
  /** How long an attempt holds its delivery; past it, the attempt is taken for lost and the next one may start. */
  leaseMs: number;
  /** An endpoint whose attempts have all failed for this long is disabled at its next failure. */
  disableAfterMs: number;
}

const jobs = new ScheduledJobs();

/**
 * The deliveries' durable state and their jobs on the platform scheduler. Every state change
 * replaces the delivery's one job (key webhook-delivery:<id>) in the same transaction: the next
 * retry when one is due, else a safety net at the lease's end (a queued or running attempt whose
 * process died is attempted again). A job carries the attempt count it was scheduled at, so a job
 * for a state the delivery has left does nothing.
 */
export class Deliveries {
  constructor(
    private readonly pool: Pool,
    private readonly options: DeliveryOptions,
  ) {}

  /** The event's message and one delivery per enabled endpoint subscribed to its type; only new ones are returned. */
  async createForEvent(event: WebhookEvent): Promise<DeliveryRef[]> {
    return withTransaction(this.pool, async (tx) => {
      // Kept only when an endpoint subscribes: most events have no audience. Only the endpoints of
      // the client whose order or export it is hear of it (an event of no client, none).
      await tx.query(
        `INSERT INTO webhook_messages (id, event_type, body) SELECT $1, $2, $3
          WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE disabled_at IS NULL AND $2 = ANY (event_types) AND client_id = $4::uuid)
         ON CONFLICT (id) DO NOTHING`,
        [event.messageId, event.type, bodyOf(event), event.clientId],
      );
      const { rows } = await tx.query<{ id: string; endpoint_id: string }>(
        `INSERT INTO webhook_deliveries (id, endpoint_id, message_id)
         SELECT 'dlv_' || gen_random_uuid(), e.id, $1 FROM webhook_endpoints e
          WHERE e.disabled_at IS NULL AND $2 = ANY (e.event_types) AND e.client_id = $3::uuid
         ON CONFLICT (endpoint_id, message_id) DO NOTHING RETURNING id, endpoint_id`,
        [event.messageId, event.type, event.clientId],
      );
      const refs = rows.map((row) => ({ deliveryId: row.id, endpointId: row.endpoint_id, attemptsDone: 0 }));
      await this.schedule(tx, refs, this.options.leaseMs);
      return refs;
    });
  }

  /** A due job's delivery, if still in the state the job was scheduled at; its safety net moves to the lease's end. */
  async requeue(due: WebhookDeliveryDue): Promise<DeliveryRef | undefined> {
    return withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query(
        "SELECT 1 FROM webhook_deliveries WHERE id = $1 AND state = 'pending' AND attempts = $2 FOR UPDATE",
        [due.deliveryId, due.attemptsDone],
      );
      if (rows.length === 0) return undefined;
      const ref = { deliveryId: due.deliveryId, endpointId: due.endpointId, attemptsDone: due.attemptsDone };
      await this.schedule(tx, [ref], this.options.leaseMs);
      return ref;
    });
  }

  /**
   * Starts an attempt: takes the lease, counts the attempt and records its start. Undefined when the
   * delivery moved on, is leased by a running attempt, or was settled here: its endpoint disabled
   * (dropped) or its last attempt lost with its process (dead).
   */
  async claim(ref: DeliveryRef): Promise<ClaimedAttempt | undefined> {
    return withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query<{
        attempts: number;
        replayed_from: number;
        leased: boolean;
        url: string;
        disabled: boolean;
        message_id: string;
        body: string;
      }>(
        `SELECT d.attempts, d.replayed_from, COALESCE(d.leased_until > now(), false) AS leased, e.url,
                e.disabled_at IS NOT NULL AS disabled, d.message_id, m.body
           FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN webhook_messages m ON m.id = d.message_id
          WHERE d.id = $1 AND d.state = 'pending' AND d.attempts = $2 FOR UPDATE OF d`,
        [ref.deliveryId, ref.attemptsDone],
      );
      const row = rows[0];
      if (!row || row.leased) return undefined;
      if (row.disabled) {
        await this.settle(tx, ref.deliveryId, 'dropped', null, 'endpoint disabled');
        return undefined;
      }
      if (row.attempts - row.replayed_from >= this.options.policy.scheduleMs.length) {
        await this.settle(tx, ref.deliveryId, 'dead', null, 'the last attempt got no answer: its worker stopped');
        return undefined;
      }
      const attempt = row.attempts + 1;
      const timestampSeconds = Math.floor(Date.now() / 1000);
      await tx.query(
        `UPDATE webhook_deliveries SET attempts = $2, leased_until = now() + make_interval(secs => $3::float8 / 1000),
                next_attempt_at = NULL, updated_at = now() WHERE id = $1`,
        [ref.deliveryId, attempt, this.options.leaseMs],
      );
      await tx.query('INSERT INTO webhook_attempts (delivery_id, attempt, webhook_timestamp, handled_by) VALUES ($1, $2, $3, $4)', [
        ref.deliveryId,
        attempt,
        timestampSeconds,
        instanceId,
      ]);
      await this.schedule(tx, [{ ...ref, attemptsDone: attempt }], this.options.leaseMs);
      const secrets = await tx.query<{ secret: string }>(
        `SELECT secret FROM webhook_secrets s JOIN webhook_deliveries d ON d.endpoint_id = s.endpoint_id
          WHERE d.id = $1 AND (s.expires_at IS NULL OR s.expires_at > now()) ORDER BY s.created_at DESC`,
        [ref.deliveryId],
      );
      return {
        ...ref,
        attempt,
        url: row.url,
        messageId: row.message_id,
        body: row.body,
        secrets: secrets.rows.map((s) => s.secret),
        timestampSeconds,
      };
    });
  }

  /**
   * Records an attempt's result and what follows: done on a 2xx; a 410 disables the endpoint; else
   * the next attempt per the schedule (at least the endpoint's Retry-After on 429/503, capped), or
   * the dead letter when the schedule is through.
   */
  async finish(claimed: ClaimedAttempt, result: AttemptResult): Promise<AttemptOutcome> {
    return withTransaction(this.pool, async (tx) => {
      await tx.query('UPDATE webhook_attempts SET finished_at = now(), status_code = $3, error = $4 WHERE delivery_id = $1 AND attempt = $2', [
        claimed.deliveryId,
        claimed.attempt,
        result.status ?? null,
        result.error ?? null,
      ]);
      const { rows } = await tx.query<{ replayed_from: number }>(
        "SELECT replayed_from FROM webhook_deliveries WHERE id = $1 AND attempts = $2 AND state = 'pending' AND leased_until IS NOT NULL FOR UPDATE",
        [claimed.deliveryId, claimed.attempt],
      );
      // Past its lease another attempt took over, the result was recorded already, or the endpoint was deleted.
      if (rows.length === 0) return 'superseded';
      const status = result.status;
      if (status !== undefined && status >= 200 && status < 300) {
        await tx.query('UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL', [claimed.endpointId]);
        await this.settle(tx, claimed.deliveryId, 'succeeded', status, null);
        return 'succeeded';
      }
      const disabledFor = status === 410 ? 'the endpoint answered 410 Gone' : await this.failingTooLong(tx, claimed.endpointId);
      if (disabledFor) {
        await tx.query('UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2 WHERE id = $1', [claimed.endpointId, disabledFor]);
        await this.settle(tx, claimed.deliveryId, 'dead', status ?? null, `endpoint disabled: ${disabledFor}`);
        return 'endpoint-disabled';
      }
      const retryAfter = status === 429 || status === 503 ? result.retryAfterMs : undefined;
      const delay = nextDelayMs(this.options.policy, claimed.attempt - rows[0]!.replayed_from, retryAfter);
      const error = result.error ?? `HTTP ${status}`;
      if (delay === undefined) {
        await this.settle(tx, claimed.deliveryId, 'dead', status ?? null, error);
        return 'dead';
      }
      await tx.query(
        `UPDATE webhook_deliveries SET leased_until = NULL, last_status = $2, last_error = $3, updated_at = now(),
                next_attempt_at = now() + make_interval(secs => $4::float8 / 1000) WHERE id = $1`,
        [claimed.deliveryId, status ?? null, error, delay],
      );
      await this.schedule(tx, [{ ...claimed, attemptsDone: claimed.attempt }], delay);
      return 'retrying';
    });
  }

  /** A settled delivery attempted again from the start of the schedule, now. Undefined: unknown, or its endpoint is disabled. */
  async replay(endpointId: string, deliveryId: string): Promise<DeliveryRef | undefined> {
    return withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query<{ attempts: number }>(
        `UPDATE webhook_deliveries d SET state = 'pending', replayed_from = d.attempts, leased_until = NULL, next_attempt_at = now(), updated_at = now()
           FROM webhook_endpoints e
          WHERE d.id = $1 AND d.endpoint_id = $2 AND e.id = d.endpoint_id AND e.disabled_at IS NULL
            AND (d.state <> 'pending' OR d.leased_until IS NULL OR d.leased_until < now())
          RETURNING d.attempts`,
        [deliveryId, endpointId],
      );
      if (rows.length === 0) return undefined;
      const ref = { deliveryId, endpointId, attemptsDone: rows[0]!.attempts };
      await this.schedule(tx, [ref], 0);
      return ref;
    });
  }

  /** An endpoint's deliveries, newest first, each with its attempts. */
  async list(endpointId: string, limit: number): Promise<DeliveryView[]> {
    const { rows } = await this.pool.query<DeliveryView>(
      `SELECT d.id, d.message_id AS "messageId", m.event_type AS "eventType", d.state,
              to_json(d.next_attempt_at) #>> '{}' AS "nextAttemptAt", d.last_status AS "lastStatus", d.last_error AS "lastError",
              to_json(d.created_at) #>> '{}' AS "createdAt",
              COALESCE((SELECT json_agg(json_build_object('attempt', a.attempt, 'startedAt', a.started_at, 'finishedAt', a.finished_at,
                                                          'webhookTimestamp', a.webhook_timestamp, 'statusCode', a.status_code, 'error', a.error)
                                        ORDER BY a.attempt)
                          FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]') AS attempts
         FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id
        WHERE d.endpoint_id = $1 ORDER BY d.created_at DESC, d.id LIMIT $2`,
      [endpointId, limit],
    );
    return rows;
  }

  /**
   * Forgets settled deliveries (succeeded, dead, dropped: with their attempts) last changed more than
   * `retentionMs` ago, then the messages no delivery refers to any more; how many deliveries.
   * Pending ones stay, however old: they are still owed.
   */
  async prune(retentionMs: number): Promise<number> {
    const cutoff = `now() - make_interval(secs => $1::float8 / 1000)`;
    const { rowCount } = await this.pool.query(`DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < ${cutoff}`, [retentionMs]);
    await this.pool.query(
      `DELETE FROM webhook_messages m WHERE m.created_at < ${cutoff} AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id)`,
      [retentionMs],
    );
    return rowCount ?? 0;
  }

  /** Marks the endpoint failing (since now, unless it already was); the reason to disable it once that has lasted too long. */
  private async failingTooLong(tx: PoolClient, endpointId: string): Promise<string | undefined> {
    const { rows } = await tx.query<{ too_long: boolean; since: string }>(
      `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now()) WHERE id = $1
       RETURNING failing_since <= now() - make_interval(secs => $2::float8 / 1000) AS too_long, to_json(failing_since) #>> '{}' AS since`,
      [endpointId, this.options.disableAfterMs],
    );
    return rows[0]?.too_long ? `every attempt has failed since ${rows[0].since}` : undefined;
  }

  private async settle(tx: PoolClient, deliveryId: string, state: 'succeeded' | 'dead' | 'dropped', status: number | null, error: string | null): Promise<void> {
    await tx.query(
      `UPDATE webhook_deliveries SET state = $2, last_status = COALESCE($3, last_status), last_error = $4, leased_until = NULL,
              next_attempt_at = NULL, updated_at = now() WHERE id = $1`,
      [deliveryId, state, status, error],
    );
    await jobs.cancel(tx, jobKeys.webhookDelivery(deliveryId));
  }

  private async schedule(tx: PoolClient, refs: readonly DeliveryRef[], afterMs: number): Promise<void> {
    await jobs.scheduleMany(
      tx,
      refs.map((ref) => {
        const eventId = randomUUID();
        const value: WebhookDeliveryDue = { eventId, deliveryId: ref.deliveryId, endpointId: ref.endpointId, attemptsDone: ref.attemptsDone, scheduledAt: Date.now() };
        return {
          key: jobKeys.webhookDelivery(ref.deliveryId),
          type: 'webhook-delivery',
          dueAt: { afterMs },
          topic: topics.webhookDeliveriesDue,
          message: { key: ref.deliveryId, value, eventId },
        };
      }),
    );
  }
}
