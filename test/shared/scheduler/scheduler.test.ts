import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { schemas } from '../../../shared/contracts/schemas.js';
import { applySchema, withTransaction } from '../../../shared/db.js';
import { declareTopic, topicLookup } from '../../../shared/kafka/topology.js';
import { Outbox } from '../../../shared/outbox/outbox.js';
import { Dispatcher, ScheduledJobs, schedulerSql, type CancelOutcome, type DispatcherOptions } from '../../../shared/scheduler/index.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { eventually, testConfig, testLogger } from '../../support/stack.js';

// Its own database: dispatchers claim every due job of their table, so no other test's may be there.
let db: OwnDatabase;
let outbox: Outbox;
const jobs = new ScheduledJobs();
const probe = declareTopic('scheduler.probe', schemas.OrderStep);
const topics = topicLookup({ topics: { probe } });
const running: Dispatcher[] = [];

function dispatcher(options: Partial<DispatcherOptions> = {}): Dispatcher {
  const d = new Dispatcher({ pool: db.pool, databaseUrl: db.url, outbox, topics, logger: testLogger, ...options });
  d.start();
  running.push(d);
  return d;
}

function job(key: string, dueAt: Date | { afterMs: number }) {
  return { key, dueAt, topic: probe, type: 'probe', message: { key, value: { key }, eventId: randomUUID() } };
}

async function states(prefix: string): Promise<Map<string, string>> {
  const { rows } = await db.pool.query<{ job_key: string; state: string }>('SELECT job_key, state FROM scheduled_jobs WHERE job_key LIKE $1', [
    `${prefix}%`,
  ]);
  return new Map(rows.map((r) => [r.job_key, r.state]));
}

/** Outbox rows per message key: the hand-off, counted. */
async function handedOff(prefix: string): Promise<Map<string, number>> {
  const { rows } = await db.pool.query<{ message_key: string; n: number }>(
    'SELECT message_key, count(*)::int AS n FROM scheduler_outbox WHERE message_key LIKE $1 GROUP BY message_key',
    [`${prefix}%`],
  );
  return new Map(rows.map((r) => [r.message_key, r.n]));
}

async function pendingCount(prefix: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM scheduled_jobs WHERE job_key LIKE $1 AND state = 'pending'", [
    `${prefix}%`,
  ]);
  return rows[0]!.n;
}

beforeAll(async () => {
  db = await freshDatabase(testConfig().databaseUrl, 'op_sched', 20);
  await applySchema(db.pool, schedulerSql);
  outbox = new Outbox(db.pool, 'scheduler_outbox');
  await outbox.create();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

afterAll(async () => {
  await db?.drop();
});

describe('scheduled jobs', () => {
  it('answers schedule, keep, replace, reschedule and cancel, and a rolled-back transaction leaves no job', async () => {
    const later = new Date(Date.now() + 3_600_000);
    expect(await jobs.schedule(db.pool, job('api-a', later))).toBe('scheduled');
    expect(await jobs.schedule(db.pool, { ...job('api-a', later), mode: 'keep' })).toBe('kept');
    expect(await jobs.schedule(db.pool, job('api-a', new Date(later.getTime() + 1000)))).toBe('replaced');
    expect(await jobs.reschedule(db.pool, 'api-a', { afterMs: 7_200_000 })).toBe('rescheduled');
    expect(await jobs.reschedule(db.pool, 'api-missing', later)).toBe('not_found');
    expect(await jobs.cancel(db.pool, 'api-a')).toBe('cancelled');
    expect(await jobs.cancel(db.pool, 'api-a')).toBe('cancelled');
    expect(await jobs.reschedule(db.pool, 'api-a', later)).toBe('cancelled');
    expect(await jobs.cancel(db.pool, 'api-missing')).toBe('not_found');

    await expect(
      withTransaction(db.pool, async (tx) => {
        await jobs.schedule(tx, job('api-rolled-back', later));
        throw new Error('the business change failed');
      }),
    ).rejects.toThrow('the business change failed');
    expect((await states('api-rolled-back')).size).toBe(0);
  });

  it('dispatches thousands of jobs, none before its due time by the database clock, each once', async () => {
    const count = 3000;
    // Spread over the next three seconds, from the database's clock.
    const requests = Array.from({ length: count }, (_, i) => job(`early-${String(i).padStart(5, '0')}`, { afterMs: Math.floor((i * 3000) / count) }));
    for (let i = 0; i < count; i += 1000) await jobs.scheduleMany(db.pool, requests.slice(i, i + 1000));
    dispatcher();
    dispatcher();
    await eventually(async () => ((await pendingCount('early-')) === 0 ? true : undefined), 'every job dispatched', 30_000);

    const { rows } = await db.pool.query<{ early: number; dispatched: number; late_p99: number }>(
      `SELECT count(*) FILTER (WHERE o.created_at < j.due_at OR j.dispatched_at < j.due_at)::int AS early,
              count(*)::int AS dispatched,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM j.dispatched_at - j.due_at))::float8 AS late_p99
         FROM scheduled_jobs j JOIN scheduler_outbox o ON o.event_id = j.event_id WHERE j.job_key LIKE 'early-%'`,
    );
    expect(rows[0]).toMatchObject({ early: 0, dispatched: count });
    expect([...(await handedOff('early-')).values()].every((n) => n === 1)).toBe(true);
    testLogger.info({ lateP99Seconds: rows[0]!.late_p99 }, 'never-early run');
  });

  it('wakes at once for a job due before its planned wake-up (LISTEN/NOTIFY), not at its next poll', async () => {
    // Nothing else pending: the dispatcher plans to sleep for its whole cap.
    dispatcher({ maxSleepMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await jobs.schedule(db.pool, job('notify-a', { afterMs: 300 }));
    await eventually(async () => ((await pendingCount('notify-a')) === 0 ? true : undefined), 'the job dispatched', 10_000);
    const { rows } = await db.pool.query<{ late: number }>(
      "SELECT EXTRACT(EPOCH FROM dispatched_at - due_at)::float8 AS late FROM scheduled_jobs WHERE job_key = 'notify-a'",
    );
    expect(rows[0]!.late).toBeGreaterThanOrEqual(0);
    expect(rows[0]!.late).toBeLessThan(2);
  });

  it('three dispatchers hand over 3,000 jobs due at once exactly once each', async () => {
    const count = 3000;
    const requests = Array.from({ length: count }, (_, i) => job(`three-${i}`, { afterMs: 1000 }));
    for (let i = 0; i < count; i += 1000) await jobs.scheduleMany(db.pool, requests.slice(i, i + 1000));
    const lateness: number[][] = [[], [], []];
    for (const seen of lateness) dispatcher({ batchSize: 100, onDispatched: (l) => seen.push(...l) });
    await eventually(async () => ((await pendingCount('three-')) === 0 ? true : undefined), 'every job dispatched', 30_000);

    const counts = await handedOff('three-');
    expect(counts.size).toBe(count);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    // Each dispatcher took a share: they really ran side by side.
    expect(lateness.filter((seen) => seen.length > 0).length).toBeGreaterThanOrEqual(2);
    expect(lateness.flat().length).toBe(count);
  });

  it('1,000 cancels racing their due instant: each job ends cancelled or dispatched, once, as its caller was told', async () => {
    const count = 1000;
    const requests = Array.from({ length: count }, (_, i) => job(`race-${i}`, { afterMs: 1500 }));
    await jobs.scheduleMany(db.pool, requests);
    const { rows } = await db.pool.query<{ wait_ms: number }>(
      "SELECT EXTRACT(EPOCH FROM min(due_at) - clock_timestamp()) * 1000 AS wait_ms FROM scheduled_jobs WHERE job_key LIKE 'race-%'",
    );
    dispatcher({ batchSize: 50 });
    dispatcher({ batchSize: 50 });
    // Cancels start a little before the due instant and run through it.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(rows[0]!.wait_ms) - 100)));
    const answers = new Map<string, CancelOutcome>();
    const order = requests.map((r) => r.key);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < order.length) {
          const key = order[next++]!;
          answers.set(key, await jobs.cancel(db.pool, key));
        }
      }),
    );
    await eventually(async () => ((await pendingCount('race-')) === 0 ? true : undefined), 'every job settled', 30_000);

    const finalStates = await states('race-');
    const counts = await handedOff('race-');
    const told = { cancelled: 0, already_dispatched: 0, not_found: 0 };
    const mismatches: string[] = [];
    for (const key of order) {
      const answer = answers.get(key)!;
      told[answer]++;
      const expected = answer === 'cancelled' ? { state: 'cancelled', sent: 0 } : { state: 'dispatched', sent: 1 };
      if (finalStates.get(key) !== expected.state || (counts.get(key) ?? 0) !== expected.sent) {
        mismatches.push(`${key}: told ${answer}, state ${finalStates.get(key)}, sent ${counts.get(key) ?? 0}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(told.not_found).toBe(0);
    // The race really happened: some cancels won, some came too late.
    testLogger.info(told, 'cancel race');
    expect(told.cancelled).toBeGreaterThan(0);
    expect(told.already_dispatched).toBeGreaterThan(0);
  });
});
