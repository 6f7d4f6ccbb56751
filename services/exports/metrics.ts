import { Counter, Gauge, Histogram } from 'prom-client';
import { metrics } from '../../shared/metrics.js';
import { taskStates, type TaskStore } from '../../shared/tasks/store.js';

export const chunkDuration = new Histogram({
  name: 'exports_chunk_duration_seconds',
  help: 'Time to read, format and commit one chunk of an export',
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metrics],
});

export const rowsExported = new Counter({
  name: 'exports_rows_total',
  help: 'Rows committed to export results by this instance',
  registers: [metrics],
});

export const resumes = new Counter({
  name: 'exports_resumes_total',
  help: 'Exports this instance claimed from a checkpoint (after a crash, a shutdown, a failed attempt)',
  registers: [metrics],
});

export const fencingRefusals = new Counter({
  name: 'exports_fencing_refusals_total',
  help: "Writes of this instance refused because its lease was gone (taken over or cancelled)",
  registers: [metrics],
});

export const requestsRefused = new Counter({
  name: 'exports_requests_refused_total',
  help: 'Export API requests answered with an error, by status',
  labelNames: ['status'],
  registers: [metrics],
});

/** Exports per state, read from the tasks table at each scrape (all instances). */
export function registerStateGauge(store: TaskStore, queue: string): void {
  new Gauge({
    name: 'exports_tasks',
    help: 'Exports per state (all instances)',
    labelNames: ['state'],
    registers: [metrics],
    async collect() {
      const counts = await store.countByState(queue);
      for (const state of taskStates) this.set({ state }, counts[state]);
    },
  });
}
