import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerRuntimeSql } from '../../../shared/consumer/processed-events.js';
import { applySchema, createPool, type Pool } from '../../../shared/db.js';
import { publishOrders, sampleOrder } from '../../support/orders.js';
import { killAll, startProcess, type ServiceProcess } from '../../support/processes.js';
import { testGroup } from '../../support/runtime.js';
import { eventually, testConfig, testLogger } from '../../support/stack.js';

const worker = 'test/support/runtime-worker.ts';
const processes: ServiceProcess[] = [];
let pool: Pool;

function startWorker(groupId: string, delayMs: number, logLevel = 'info'): ServiceProcess {
  const p = startProcess(worker, { WORKER_GROUP_ID: groupId, WORKER_DELAY_MS: String(delayMs), LOG_LEVEL: logLevel });
  processes.push(p);
  return p;
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
  // No unique key on purpose: a second effect of one event would show up as a second row.
  await pool.query(
    'CREATE TABLE IF NOT EXISTS runtime_test_effects (id bigserial PRIMARY KEY, consumer_group text, event_id text, pid int)',
  );
});

afterAll(async () => {
  await killAll(processes);
  await pool.end();
});

describe('consumer runtime under process faults', () => {
  it('SIGKILL during processing: the event is redelivered to the next member, with no double effect', async () => {
    const group = await testGroup();
    const orders = await publishOrders(Array.from({ length: 60 }, () => sampleOrder()));
    const ids = orders.map((o) => o.eventId);
    const first = startWorker(group.groupId, 50);
    await eventually(async () => ((await effects(group.groupId, ids)).size >= 15 ? true : undefined), 'some progress', 60_000);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const done = (await effects(group.groupId, ids)).size;
    expect(done).toBeLessThan(ids.length);

    const second = startWorker(group.groupId, 0);
    await eventually(async () => ((await effects(group.groupId, ids)).size === ids.length ? true : undefined), 'all effects', 60_000);
    const counts = await effects(group.groupId, ids);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const redelivered = second.output.filter(
      (line) => line.includes('"msg":"already processed"') && ids.some((id) => line.includes(`"eventId":"${id}"`)),
    ).length;
    console.log(`SIGKILL after ${done} effects: ${redelivered} redelivered events found already processed`);
  });

  it('SIGTERM under load: in-flight work finishes, offsets are committed, exit 0, nothing lost', async () => {
    const group = await testGroup();
    const orders = await publishOrders(Array.from({ length: 80 }, () => sampleOrder()));
    const ids = orders.map((o) => o.eventId);
    const first = startWorker(group.groupId, 30);
    await eventually(async () => ((await effects(group.groupId, ids)).size >= 20 ? true : undefined), 'some progress', 60_000);
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    const exit = await first.exited;
    expect(exit.code, first.output.slice(-20).join('\n')).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(25_000);
    const handledBefore = (await effects(group.groupId, ids)).size;
    expect(handledBefore).toBeLessThan(ids.length);

    const second = startWorker(group.groupId, 0);
    await eventually(async () => ((await effects(group.groupId, ids)).size === ids.length ? true : undefined), 'all effects', 60_000);
    expect([...(await effects(group.groupId, ids)).values()].every((n) => n === 1)).toBe(true);
    // A clean stop commits what it handled: the next member starts after it and redelivers none of
    // ours. (Other tests' topics may hold the same event id twice, e.g. an outbox row sent again.)
    const redelivered = second.output.filter(
      (line) => line.includes('"msg":"already processed"') && ids.some((id) => line.includes(`"eventId":"${id}"`)),
    ).length;
    expect(redelivered).toBe(0);
  });

  it('a second signal forces the exit while a handler is still busy', async () => {
    const group = await testGroup();
    await publishOrders([sampleOrder()]);
    const busy = startWorker(group.groupId, 60_000, 'debug');
    await eventually(async () => (busy.output.some((line) => line.includes('"msg":"handling"')) ? true : undefined), 'a busy handler', 60_000);
    busy.child.kill('SIGTERM');
    await eventually(async () => (busy.output.some((line) => line.includes('"msg":"shutting down"')) ? true : undefined), 'the first signal');
    const second = Date.now();
    busy.child.kill('SIGTERM');
    const exit = await busy.exited;
    expect(exit.code).toBe(130);
    expect(Date.now() - second).toBeLessThan(3000);
  });
});
