import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../../shared/contracts/topics.js';
import { applySchema } from '../../../shared/db.js';
import { ScheduledJobs, schedulerSql, type ScheduleRequest } from '../../../shared/scheduler/index.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually, testConfig } from '../../support/stack.js';

// The scheduler processes work on a database of this test's own. Their relays point at a port where
// no broker listens: what is proved here is the hand-off to the outbox, and no other test's consumer
// may see these events.
let db: OwnDatabase;
const fleet = new ServiceFleet();
const jobs = new ScheduledJobs();

function start(): Promise<RunningService> {
  return fleet.start('scheduler', { DATABASE_URL: db.url, KAFKA_BROKERS: '127.0.0.1:9', SCHEDULER_MAX_SLEEP_MS: '1000' });
}

function requests(prefix: string, count: number, dueAt: (i: number) => ScheduleRequest<unknown>['dueAt']): Array<ScheduleRequest<unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    key: `${prefix}-${i}`,
    type: prefix,
    dueAt: dueAt(i),
    topic: topics.orderSteps,
    message: { key: `${prefix}-${i}`, value: { n: i }, eventId: randomUUID() },
  }));
}

async function scheduleAll(all: Array<ScheduleRequest<unknown>>): Promise<void> {
  for (let i = 0; i < all.length; i += 2000) await jobs.scheduleMany(db.pool, all.slice(i, i + 2000));
}

interface Settled {
  pending: number;
  dispatched: number;
  early: number;
  notOnce: number;
  maxLateSeconds: number;
}

async function settled(type: string): Promise<Settled> {
  const { rows } = await db.pool.query<Settled>(
    `SELECT count(*) FILTER (WHERE j.state = 'pending')::int AS pending,
            count(*) FILTER (WHERE j.state = 'dispatched')::int AS dispatched,
            count(*) FILTER (WHERE j.dispatched_at < j.due_at)::int AS early,
            count(*) FILTER (WHERE j.state = 'dispatched' AND (SELECT count(*) FROM scheduler_outbox o WHERE o.event_id = j.event_id) <> 1)::int AS "notOnce",
            COALESCE(max(EXTRACT(EPOCH FROM j.dispatched_at - j.due_at)), 0)::float8 AS "maxLateSeconds"
       FROM scheduled_jobs j WHERE j.job_type = $1`,
    [type],
  );
  return rows[0]!;
}

beforeAll(async () => {
  db = await freshDatabase(testConfig().databaseUrl, 'op_sched_svc', 4);
  await applySchema(db.pool, schedulerSql);
});

afterAll(async () => {
  await fleet.stopAll();
  await db?.drop();
});

describe('scheduler service', () => {
  let first: RunningService;
  let second: RunningService;

  it('shows pending jobs per type at GET /schedules and the backlog in its metrics', async () => {
    [first, second] = await Promise.all([start(), start()]);
    await scheduleAll(requests('view', 3, (i) => (i === 0 ? { afterMs: 3_600_000 } : { afterMs: 7_200_000 })));
    const response = await fetch(`${first.url}/schedules?state=pending&type=view&limit=2`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { summary: Array<{ type: string; upcoming: number; overdue: number }>; jobs: Array<{ key: string }> };
    expect(body.summary).toContainEqual(expect.objectContaining({ type: 'view', upcoming: 3, overdue: 0 }));
    expect(body.jobs.map((j) => j.key)).toEqual(['view-0', expect.stringMatching(/^view-[12]$/)]);
    expect((await fetch(`${first.url}/schedules?state=bogus`)).status).toBe(400);

    const metrics = await (await fetch(`${first.url}/metrics`)).text();
    expect(metrics).toMatch(/^scheduler_jobs_due 0$/m);
    expect(metrics).toMatch(/^scheduler_overdue_seconds 0$/m);
    expect(metrics).toContain('scheduler_dispatch_lateness_seconds_bucket');
  });

  it('SIGKILL of a dispatcher with 10,000 pending jobs, 500 due during the kill: none lost, none twice, the survivor takes over within seconds', async () => {
    // 9,500 far ahead, 500 due over two seconds starting three seconds from now (database clock).
    await scheduleAll([
      ...requests('later', 9500, () => ({ afterMs: 3_600_000 })),
      ...requests('kill', 500, (i) => ({ afterMs: 3000 + i * 4 })),
    ]);
    await sleep(3500);
    await fleet.kill(first);
    await eventually(async () => ((await settled('kill')).pending === 0 ? true : undefined), 'the 500 due jobs dispatched', 30_000);

    const result = await settled('kill');
    expect(result).toMatchObject({ pending: 0, dispatched: 500, early: 0, notOnce: 0 });
    expect(result.maxLateSeconds).toBeLessThan(5);
    expect((await settled('later')).pending).toBe(9500);
    const metrics = await (await fetch(`${second.url}/metrics`)).text();
    expect(metrics).toMatch(/^scheduler_dispatch_lateness_seconds_count [1-9]/m);
  });

  it('after every dispatcher was down, a restarted one sends the overdue jobs oldest first', async () => {
    await fleet.kill(second);
    await scheduleAll(requests('outage', 300, (i) => ({ afterMs: 200 + i })));
    await sleep(1500);
    expect((await settled('outage')).pending).toBe(300);
    await start();
    await eventually(async () => ((await settled('outage')).pending === 0 ? true : undefined), 'the overdue jobs dispatched', 30_000);

    expect(await settled('outage')).toMatchObject({ dispatched: 300, early: 0, notOnce: 0 });
    // The outbox's row order is the hand-off order.
    const { rows } = await db.pool.query<{ out_of_order: number }>(
      `SELECT count(*)::int AS out_of_order FROM (
         SELECT o.id < lag(o.id) OVER (ORDER BY j.due_at, j.id) AS before_previous
           FROM scheduled_jobs j JOIN scheduler_outbox o ON o.event_id = j.event_id WHERE j.job_type = 'outage'
       ) AS t WHERE before_previous`,
    );
    expect(rows[0]!.out_of_order).toBe(0);
  });

  it('stops cleanly on SIGTERM', async () => {
    const last = fleet.started.at(-1)!;
    expect(await fleet.stop(last)).toEqual({ code: 0, signal: null });
  });
});
