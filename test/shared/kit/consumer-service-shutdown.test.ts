import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerRuntimeSql } from '../../../shared/consumer/processed-events.js';
import { applySchema, createPool, type Pool } from '../../../shared/db.js';
import { publishOrders, sampleOrder } from '../../support/orders.js';
import { killAll, startProcess, type ServiceProcess } from '../../support/processes.js';
import { testGroup } from '../../support/runtime.js';
import { eventually, testConfig, testKafka, testLogger } from '../../support/stack.js';

/** The kit's process bound (GracefulShutdown's default). */
const processBoundMs = 30_000;
const worker = 'test/support/service-worker.ts';
const processes: ServiceProcess[] = [];
let pool: Pool;

function startWorker(groupId: string, delayMs: number, clientId = `service-worker-${randomUUID().slice(0, 8)}`): ServiceProcess & { clientId: string } {
  const p = startProcess(worker, {
    WORKER_GROUP_ID: groupId,
    WORKER_DELAY_MS: String(delayMs),
    KAFKA_CLIENT_ID: clientId,
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
  });
  processes.push(p);
  return { ...p, clientId };
}

const logged = (p: ServiceProcess, msg: string) => p.output.filter((line) => line.includes(`"msg":"${msg}"`)).length;

async function sigterm(p: ServiceProcess): Promise<{ code: number | null; tookMs: number }> {
  const signalled = Date.now();
  p.child.kill('SIGTERM');
  const { code } = await p.exited;
  return { code, tookMs: Date.now() - signalled };
}

async function members(groupId: string): Promise<string[]> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]!.members.map((member) => member.clientId);
  } finally {
    await admin.disconnect();
  }
}

async function effects(groupId: string, eventIds: string[]): Promise<Map<string, number>> {
  const result = await pool.query<{ event_id: string; n: number }>(
    'SELECT event_id, count(*)::int AS n FROM runtime_test_effects WHERE consumer_group = $1 AND event_id = ANY($2) GROUP BY event_id',
    [groupId, eventIds],
  );
  return new Map(result.rows.map((row) => [row.event_id, row.n]));
}

beforeAll(async () => {
  pool = createPool(testConfig().databaseUrl, testLogger);
  await applySchema(pool, consumerRuntimeSql);
  await pool.query('CREATE TABLE IF NOT EXISTS runtime_test_effects (id bigserial PRIMARY KEY, consumer_group text, event_id text, pid int)');
});

afterAll(async () => {
  await killAll(processes);
  await pool.end();
});

describe('a consumer service on SIGTERM', () => {
  it('during start-up (its join waits for a busy member): stops its consumer, leaves the group and exits 0 within its bound', async () => {
    const group = await testGroup();
    const busy = startWorker(group.groupId, 8000);
    await eventually(async () => (logged(busy, 'started') > 0 ? true : undefined), 'the first member started', 60_000);
    const [order] = await publishOrders([sampleOrder()]);
    await eventually(async () => (logged(busy, 'handling') > 0 ? true : undefined), 'a handler in flight', 30_000);

    // The second member's start waits in the join until the busy member's handler is done.
    const joining = startWorker(group.groupId, 0);
    await eventually(async () => ((await members(group.groupId)).includes(joining.clientId) ? true : undefined), 'the second member joining', 30_000);
    expect(logged(joining, 'started')).toBe(0);
    const { code, tookMs } = await sigterm(joining);
    console.log(`SIGTERM during start-up: exit ${code} after ${tookMs} ms`);
    expect(code, joining.output.slice(-20).join('\n')).toBe(0);
    expect(tookMs).toBeLessThan(processBoundMs);
    // It left: the group does not wait for its session to expire before the busy member gets every partition.
    expect(await members(group.groupId)).not.toContain(joining.clientId);
    await eventually(async () => ((await effects(group.groupId, [order!.eventId])).get(order!.eventId) === 1 ? true : undefined), 'the busy handler done');
    await sigterm(busy);
  });

  it('while handlers are in flight (each holding a transaction): they finish and commit, exit 0 within its bound, nothing handled twice', async () => {
    const group = await testGroup();
    const orders = await publishOrders(Array.from({ length: 12 }, () => sampleOrder()));
    const ids = orders.map((o) => o.eventId);
    const first = startWorker(group.groupId, 3000);
    await eventually(async () => (logged(first, 'handled') >= 1 ? true : undefined), 'a first effect', 60_000);
    // SIGTERM as a handler begins: it has its whole delay still to go.
    const begun = logged(first, 'handling');
    await eventually(async () => (logged(first, 'handling') > begun ? true : undefined), 'a handler beginning', 30_000);
    const { code, tookMs } = await sigterm(first);
    console.log(`SIGTERM with handlers in flight: exit ${code} after ${tookMs} ms`);
    expect(code, first.output.slice(-20).join('\n')).toBe(0);
    expect(tookMs).toBeGreaterThanOrEqual(1000);
    expect(tookMs).toBeLessThan(processBoundMs);
    // Every handler that began finished: its effect committed.
    expect(logged(first, 'handled')).toBe(logged(first, 'handling'));
    expect((await effects(group.groupId, ids)).size).toBe(logged(first, 'handled'));

    const second = startWorker(group.groupId, 0);
    await eventually(async () => ((await effects(group.groupId, ids)).size === ids.length ? true : undefined), 'all effects', 60_000);
    expect([...(await effects(group.groupId, ids)).values()].every((n) => n === 1)).toBe(true);
    // Offsets were committed for what the first member handled: none of it came again.
    expect(logged(second, 'already handled; redelivery ignored')).toBe(0);
    await sigterm(second);
  });
});
