/**
 * "No consumer-group rebalance is caused by a 10-minute export", scaled down: the exports process
 * has no Kafka consumer (its worker pool claims tasks from PostgreSQL), so the groups at risk are
 * the pipeline's beside it. An analytics member with the shortest session timeout the broker
 * allows (6 s) runs while an export works for 13 s, past two session timeouts, on the same
 * machine; the member is never replaced and its group never joins again, and it keeps consuming.
 * The export is made long by its chunk size (3 rows: tens of thousands of fenced transactions), not by a
 * pause, so it does real work the whole time.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import { apiFetch } from '../../support/api-client.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { seedOrders, seedStart } from '../../support/exports.js';
import { groupLag, skipToEnd, withAdmin } from '../../support/kafka-groups.js';
import { publishEvents } from '../../support/publish.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually, testConfig } from '../../support/stack.js';
import { testClientId } from '../../support/api-client.js';

const SESSION_TIMEOUT_MS = 6000;
const EXPORT_RUNS_MS = 13_000;
const ORDERS = 50_000;

const fleet = new ServiceFleet();
let db: OwnDatabase;
let analytics: RunningService;
let exportsService: RunningService;

const group = consumerGroups.analytics.groupId;
const joins = () => analytics.output.filter((line) => line.includes('"joined group"')).length;

async function members(): Promise<{ state: string; memberIds: string[] }> {
  return withAdmin(async (admin) => {
    const { groups } = await admin.describeGroups([group]);
    return { state: groups[0]?.state ?? 'missing', memberIds: (groups[0]?.members ?? []).map((m) => m.memberId).sort() };
  });
}

async function progress(id: string): Promise<{ status: string; done: number }> {
  const view = (await (await apiFetch(`${exportsService.url}/exports/${id}`)).json()) as { status: string; progress: { done: number } };
  return { status: view.status, done: view.progress.done };
}

/** An order for the analytics member; resolves once the group has committed it (handled, its facts published). */
async function consumed(): Promise<void> {
  const order: OrderCreated = {
    eventId: randomUUID(),
    orderId: randomUUID(),
    customerId: 'no-rebalance-test',
    email: 'no-rebalance@example.com',
    items: [{ sku: 'SKU-001', quantity: 1, unitPriceCents: 625 }],
    totalCents: 625,
    currency: 'EUR',
    createdAt: Date.now(),
    clientId: testClientId,
  };
  await publishEvents(topics.orderCreated, [order]);
  await eventually(async () => ((await groupLag(group, topics.orderCreated.name)) === 0 ? true : undefined), 'the order consumed', 10_000);
}

beforeAll(async () => {
  db = await freshDatabase(testConfig().databaseUrl, 'op_exports_rebalance', 2);
  // Not the backlog earlier tests left, when the group is empty (a member of another test still in
  // its session keeps it; that member then consumes the backlog alongside).
  await skipToEnd(group, topics.orderCreated.name).catch(() => undefined);
  [, analytics] = await Promise.all([
    seedOrders(db.pool, ORDERS, 2, testClientId),
    fleet.start('analytics', { KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS), LOG_LEVEL: 'info' }),
  ]);
  exportsService = await fleet.start('exports', {
    DATABASE_URL: db.url,
    LOG_LEVEL: 'warn',
    TASK_CHUNK_ROWS: '3',
    TASK_CONCURRENCY: '1',
    TASK_POLL_MS: '250',
  });
}, 60_000);

afterAll(async () => {
  await fleet.stopAll();
  await db?.drop();
});

describe('an export beside a consumer group', () => {
  it('runs past two session timeouts of the analytics member beside it: the group never joins again, keeps its member and keeps consuming', async () => {
    await eventually(async () => (joins() > 0 ? true : undefined), 'the analytics member joined', 20_000);
    const stable = await eventually(async () => {
      const now = await members();
      return now.state === 'Stable' && now.memberIds.length > 0 ? now : undefined;
    }, 'the analytics group stable');
    await consumed();
    const joinsBefore = joins();

    const response = await apiFetch(`${exportsService.url}/exports`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'orders', from: new Date(seedStart).toISOString(), to: new Date(seedStart + (ORDERS + 1) * 1000).toISOString() }),
    });
    expect(response.status).toBe(202);
    const { exportId } = (await response.json()) as { exportId: string };
    await eventually(async () => ((await progress(exportId)).done > 0 ? true : undefined), 'the export working', 10_000);
    const startedAt = Date.now();

    // Through the export: the member stays, and every session timeout the export is still at work.
    const seen: Array<{ status: string; done: number }> = [];
    while (Date.now() - startedAt < EXPORT_RUNS_MS) {
      await sleep(SESSION_TIMEOUT_MS / 2);
      seen.push(await progress(exportId));
      expect(await members()).toEqual(stable);
    }
    expect(seen.every((p) => p.status === 'RUNNING'), JSON.stringify(seen)).toBe(true);
    const done = seen.map((p) => p.done);
    expect(done.every((d, i) => i === 0 || d > done[i - 1]!), `progress at every look: ${done.join(', ')}`).toBe(true);

    // The group did not rebalance: no join since the export started, the same member, still consuming.
    expect(joins()).toBe(joinsBefore);
    await consumed();
    expect(await members()).toEqual(stable);
    expect((await apiFetch(`${exportsService.url}/exports/${exportId}/cancel`, { method: 'POST' })).status).toBe(200);
  }, 40_000);
});
