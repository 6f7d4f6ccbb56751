import { Gauge, Histogram } from 'prom-client';
import type { Pool } from '../../shared/db.js';
import { metrics } from '../../shared/metrics.js';
import type { Backlog, ScheduledJobs } from '../../shared/scheduler/jobs.js';

export const dispatchLateness = new Histogram({
  name: 'scheduler_dispatch_lateness_seconds',
  help: 'How long after its due time a job was handed to the outbox (database clock)',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [metrics],
});

/** The backlog gauges read the jobs table at each scrape (one query serves both). */
export function registerBacklogGauges(pool: Pool, jobs: ScheduledJobs): void {
  let reading: { at: number; backlog: Promise<Backlog> } | undefined;
  const backlog = () => {
    if (!reading || Date.now() - reading.at > 500) reading = { at: Date.now(), backlog: jobs.backlog(pool) };
    return reading.backlog;
  };
  new Gauge({
    name: 'scheduler_jobs_due',
    help: 'Pending jobs whose due time has passed (all dispatchers)',
    registers: [metrics],
    async collect() {
      this.set((await backlog()).due);
    },
  });
  new Gauge({
    name: 'scheduler_overdue_seconds',
    help: 'How long the oldest pending due job has been due (0 when none)',
    registers: [metrics],
    async collect() {
      this.set((await backlog()).overdueSeconds);
    },
  });
}
