import { Counter, Gauge, Histogram } from 'prom-client';
import { metrics } from '../../shared/metrics.js';

/** rate(batch_ingestion_rows_written_total[1m]) is the ingest rate in rows/s. */
export const rowsWritten = new Counter({
  name: 'batch_ingestion_rows_written_total',
  help: 'Rows inserted into the analytics store',
  registers: [metrics],
});

export const rowsDuplicate = new Counter({
  name: 'batch_ingestion_rows_duplicate_total',
  help: 'Replayed rows that were stored already and so were skipped (idempotent writes)',
  registers: [metrics],
});

export const rowsRejected = new Counter({
  name: 'batch_ingestion_rows_rejected_total',
  help: 'Rows the store rejected for their values, by where they went next (retried, dead_lettered)',
  labelNames: ['outcome'] as const,
  registers: [metrics],
});

export const flushRows = new Histogram({
  name: 'batch_ingestion_flush_rows',
  help: 'Rows per flushed batch',
  buckets: [1, 10, 100, 500, 1000, 5000, 10_000, 25_000, 50_000, 100_000],
  registers: [metrics],
});

export const flushBytes = new Histogram({
  name: 'batch_ingestion_flush_bytes',
  help: 'COPY bytes per flushed batch',
  buckets: [1e3, 1e4, 1e5, 1e6, 4e6, 16e6, 64e6],
  registers: [metrics],
});

export const flushSeconds = new Histogram({
  name: 'batch_ingestion_flush_seconds',
  help: 'From the start of a flush to its commit, outage waits included',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metrics],
});

export const backpressureSeconds = new Counter({
  name: 'batch_ingestion_backpressure_seconds_total',
  help: 'Time consumption was paused because the analytics store was unavailable',
  registers: [metrics],
});

export const paused = new Gauge({
  name: 'batch_ingestion_paused',
  help: '1 while consumption waits for the analytics store',
  registers: [metrics],
});
