/**
 * The deliveries' state machine on a real PostgreSQL, without Kafka or HTTP: leases, the endpoint
 * disabled after failing too long (the service's default is 5 days; here half a second), dropped
 * deliveries of a disabled endpoint, the jobs each change leaves on the scheduler.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySchema } from '../../../shared/db.js';
import { jobKeys } from '../../../shared/contracts/topics.js';
import { schedulerSql } from '../../../shared/scheduler/jobs.js';
import { Deliveries } from '../../../services/webhooks/deliveries.js';
import { Endpoints } from '../../../services/webhooks/endpoints.js';
import type { WebhookEvent } from '../../../services/webhooks/event-types.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { testConfig } from '../../support/stack.js';

let db: OwnDatabase;
let deliveries: Deliveries;
let endpoints: Endpoints;
/** The endpoints' owner: an API client (shared/clients). */
const clientId = randomUUID();

const event = (): WebhookEvent => ({
  messageId: `msg_${randomUUID()}`,
  type: 'order.confirmed',
  occurredAt: Date.now(),
  data: { orderId: randomUUID() },
  clientId,
});

async function job(deliveryId: string): Promise<{ state: string; attemptsDone: number } | undefined> {
  const { rows } = await db.pool.query<{ state: string; attemptsDone: number }>(
    `SELECT state, (payload->>'attemptsDone')::int AS "attemptsDone" FROM scheduled_jobs WHERE job_key = $1`,
    [jobKeys.webhookDelivery(deliveryId)],
  );
  return rows[0];
}

beforeAll(async () => {
  db = await freshDatabase(testConfig().databaseUrl, 'op_webhook_rows', 2);
  await applySchema(db.pool, schedulerSql);
  await applySchema(db.pool, new URL('../../../services/webhooks/schema.sql', import.meta.url));
  endpoints = new Endpoints(db.pool);
  deliveries = new Deliveries(db.pool, { policy: { scheduleMs: [0, 60_000, 60_000], retryAfterCapMs: 60_000, jitter: 0 }, leaseMs: 30_000, disableAfterMs: 500 });
});

afterAll(async () => {
  await db?.drop();
});

describe('webhook deliveries', () => {
  it('keeps no message nobody subscribes to; one delivery per subscribed endpoint, once', async () => {
    const unheard = event();
    expect(await deliveries.createForEvent({ ...unheard, type: 'order.rejected' })).toEqual([]);
    const endpoint = await endpoints.create(clientId, 'http://127.0.0.1:1/x', ['order.confirmed']);
    const heard = event();
    const refs = await deliveries.createForEvent(heard);
    expect(refs).toEqual([{ deliveryId: expect.stringMatching(/^dlv_/), endpointId: endpoint.id, attemptsDone: 0 }]);
    expect(await deliveries.createForEvent(heard)).toEqual([]);
    const { rows } = await db.pool.query('SELECT id FROM webhook_messages');
    expect(rows).toEqual([{ id: heard.messageId }]);
    // Its safety net: attempted again at the lease's end if no attempt starts meanwhile.
    expect(await job(refs[0]!.deliveryId)).toEqual({ state: 'pending', attemptsDone: 0 });
    await endpoints.delete(clientId, endpoint.id);
  });

  it('an attempt holds its lease: the same delivery is not claimed twice, and its job moves with each attempt', async () => {
    const endpoint = await endpoints.create(clientId, 'http://127.0.0.1:1/x', ['order.confirmed']);
    const [ref] = await deliveries.createForEvent(event());
    const claimed = await deliveries.claim(ref!);
    expect(claimed).toMatchObject({ attempt: 1, secrets: [endpoint.secret] });
    expect(await deliveries.claim(ref!)).toBeUndefined();
    expect(await deliveries.claim({ ...ref!, attemptsDone: 1 })).toBeUndefined(); // leased
    expect(await job(ref!.deliveryId)).toEqual({ state: 'pending', attemptsDone: 1 });
    expect(await deliveries.finish(claimed!, { status: 500 })).toBe('retrying');
    expect(await deliveries.finish(claimed!, { status: 200 })).toBe('superseded');
    await endpoints.delete(clientId, endpoint.id);
  });

  it('disables an endpoint whose attempts have all failed for too long, and drops its other deliveries', async () => {
    const endpoint = await endpoints.create(clientId, 'http://127.0.0.1:1/x', ['order.confirmed']);
    const [first] = await deliveries.createForEvent(event());
    const [second] = await deliveries.createForEvent(event());
    expect(await deliveries.finish((await deliveries.claim(first!))!, { status: 500 })).toBe('retrying');
    expect((await endpoints.get(clientId, endpoint.id))!.failingSince).not.toBeNull();
    // A success in between starts the count again.
    expect(await deliveries.finish((await deliveries.claim(second!))!, { status: 204 })).toBe('succeeded');
    expect((await endpoints.get(clientId, endpoint.id))!.failingSince).toBeNull();
    expect(await deliveries.finish((await deliveries.claim({ ...first!, attemptsDone: 1 }))!, { error: 'ECONNREFUSED' })).toBe('retrying');
    await sleep(600);
    const [third] = await deliveries.createForEvent(event());
    expect(await deliveries.finish((await deliveries.claim({ ...first!, attemptsDone: 2 }))!, { status: 502 })).toBe('endpoint-disabled');
    const disabled = await endpoints.get(clientId, endpoint.id);
    expect(disabled!.disabledReason).toMatch(/every attempt has failed since/);
    expect(await deliveries.claim(third!)).toBeUndefined();
    const states = (await deliveries.list(endpoint.id, 10)).map((d) => [d.id, d.state]);
    expect(states).toEqual(expect.arrayContaining([[first!.deliveryId, 'dead'], [third!.deliveryId, 'dropped']]));
    expect(await job(third!.deliveryId)).toMatchObject({ state: 'cancelled' });
    expect(await deliveries.createForEvent(event())).toEqual([]);
  });

  it('prunes settled deliveries past the retention with their attempts and messages; pending ones stay', async () => {
    const endpoint = await endpoints.create(clientId, 'http://127.0.0.1:1/x', ['order.confirmed']);
    const [settled] = await deliveries.createForEvent(event());
    const [pending] = await deliveries.createForEvent(event());
    expect(await deliveries.finish((await deliveries.claim(settled!))!, { status: 204 })).toBe('succeeded');
    const retentionMs = 60_000;
    expect(await deliveries.prune(retentionMs)).toBe(0);
    await db.pool.query(`UPDATE webhook_deliveries SET updated_at = now() - interval '2 minutes' WHERE id = ANY($1)`, [[settled!.deliveryId, pending!.deliveryId]]);
    await db.pool.query(`UPDATE webhook_messages SET created_at = now() - interval '2 minutes'`);
    expect(await deliveries.prune(retentionMs)).toBe(1);
    const left = await db.pool.query<{ id: string }>('SELECT id FROM webhook_deliveries WHERE id = ANY($1)', [[settled!.deliveryId, pending!.deliveryId]]);
    expect(left.rows).toEqual([{ id: pending!.deliveryId }]);
    const attempts = await db.pool.query('SELECT 1 FROM webhook_attempts WHERE delivery_id = $1', [settled!.deliveryId]);
    expect(attempts.rows).toEqual([]);
    const messages = await db.pool.query<{ id: string }>(
      'SELECT m.id FROM webhook_messages m JOIN webhook_deliveries d ON d.message_id = m.id WHERE d.id = $1',
      [pending!.deliveryId],
    );
    expect(messages.rows).toHaveLength(1);
    expect((await db.pool.query('SELECT 1 FROM webhook_messages m WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id)')).rows).toEqual([]);
    await endpoints.delete(clientId, endpoint.id);
  });
});
