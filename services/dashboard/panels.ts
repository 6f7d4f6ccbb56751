import type { Pool } from '../../shared/db.js';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { History } from './history.js';

/**
 * The panels whose numbers live in PostgreSQL (and the batch writer's /metrics): read once per poll
 * for every viewer. Each panel is read on its own: a table that has not landed (a service not yet
 * started against this database) leaves its panel empty, not the page.
 */
export type Panel<T> = { available: true; rows: T } | { available: false; reason: string };

export interface ParkedKeys {
  group: string;
  messages: number;
  keys: number;
  oldest: string | null;
}

export interface ExportProgress {
  id: string;
  state: string;
  done: number;
  total: number | null;
  rowsPerSecond: number | null;
  createdAt: string;
}

export interface ScheduledJobs {
  jobType: string;
  upcoming: number;
  overdue: number;
  nextDueAt: string | null;
  oldestOverdueAt: string | null;
}

export interface WebhookEndpointHealth {
  id: string;
  disabled: boolean;
  failingSince: string | null;
  pending: number;
  nextRetryAt: string | null;
}

export interface RequestReplyCounts {
  inFlight: number;
  late: number;
  timedOut: number;
}

export interface BatchIngestion {
  rowsWritten: number;
  rowsPerSecond: number | null;
  rowsRejected: Record<string, number>;
  paused: boolean;
  backpressureSeconds: number;
  flushRows: Histogram;
  flushSeconds: Histogram;
  /** Flushes by reason (rows, bytes, wait, idle). */
  flushReasons: Record<string, number>;
}

export interface Histogram {
  /** Cumulative counts per upper bound, as Prometheus keeps them. */
  buckets: Array<{ le: string; count: number }>;
  count: number;
  sum: number;
}

export interface PanelsSnapshot {
  readAt: string | null;
  parkedKeys: Panel<ParkedKeys[]>;
  orders: Panel<{ byStatus: Record<string, number>; chart: { times: number[]; series: Record<string, number[]> } }>;
  exports: Panel<ExportProgress[]>;
  scheduledJobs: Panel<ScheduledJobs[]>;
  webhooks: Panel<WebhookEndpointHealth[]>;
  requestReply: Panel<RequestReplyCounts>;
  batchIngestion: Panel<BatchIngestion>;
}

const orderStatuses = ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLING', 'CANCELLED'] as const;

const unavailable = (reason: string) => ({ available: false as const, reason });

const iso = (value: Date | null | undefined): string | null => (value ? value.toISOString() : null);

/** Prometheus text format: `name{labels} value` lines, comments skipped. */
export function parseMetrics(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[label[1]!] = label[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function histogramOf(samples: ReturnType<typeof parseMetrics>, name: string): Histogram {
  return {
    buckets: samples.filter((s) => s.name === `${name}_bucket`).map((s) => ({ le: s.labels.le ?? '', count: s.value })),
    count: samples.find((s) => s.name === `${name}_count`)?.value ?? 0,
    sum: samples.find((s) => s.name === `${name}_sum`)?.value ?? 0,
  };
}

export class Panels {
  private readonly orderHistory = new History(orderStatuses.length);
  private lastRows: { time: number; rows: number } | undefined;
  private current: PanelsSnapshot = {
    readAt: null,
    parkedKeys: unavailable('not read yet'),
    orders: unavailable('not read yet'),
    exports: unavailable('not read yet'),
    scheduledJobs: unavailable('not read yet'),
    webhooks: unavailable('not read yet'),
    requestReply: unavailable('not read yet'),
    batchIngestion: unavailable('not read yet'),
  };

  constructor(
    private readonly pool: Pool,
    private readonly options: { logger: Logger; batchMetricsUrl: string | undefined },
  ) {}

  snapshot(): PanelsSnapshot {
    return this.current;
  }

  private async panel<T>(name: string, table: string | null, read: () => Promise<T>): Promise<Panel<T>> {
    try {
      if (table !== null) {
        const { rows } = await this.pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
        if (!rows[0]?.present) return unavailable(`no table ${table} in this database yet`);
      }
      return { available: true, rows: await read() };
    } catch (error) {
      this.options.logger.debug({ panel: name, err: errorMessage(error) }, 'panel not read');
      return unavailable(errorMessage(error));
    }
  }

  async read(): Promise<PanelsSnapshot> {
    const now = Date.now();
    const [parkedKeys, orders, exports, scheduledJobs, webhooks, requestReply, batchIngestion] = await Promise.all([
      this.panel('parked keys', 'retry_key_queue', async () => {
        const { rows } = await this.pool.query<{ group: string; messages: string; keys: string; oldest: Date | null }>(
          `SELECT consumer_group AS group, count(*) AS messages, count(DISTINCT message_key) AS keys, min(enqueued_at) AS oldest
             FROM retry_key_queue GROUP BY consumer_group ORDER BY consumer_group`,
        );
        return rows.map((row) => ({ group: row.group, messages: Number(row.messages), keys: Number(row.keys), oldest: iso(row.oldest) }));
      }),
      this.panel('orders', 'orders', async () => {
        const { rows } = await this.pool.query<{ status: string; count: string }>('SELECT status, count(*) AS count FROM orders GROUP BY status');
        const byStatus: Record<string, number> = Object.fromEntries(orderStatuses.map((status) => [status, 0]));
        for (const row of rows) byStatus[row.status] = Number(row.count);
        this.orderHistory.add(now, orderStatuses.map((status) => byStatus[status] ?? 0));
        const points = this.orderHistory.points();
        const series = Object.fromEntries(orderStatuses.map((status, i) => [status, points.map((p) => p.values[i]!)]));
        return { byStatus, chart: { times: points.map((p) => p.time / 1000), series } };
      }),
      this.panel('exports', 'tasks', async () => {
        const { rows } = await this.pool.query<{ id: string; state: string; done: string; total: string | null; rows_per_second: number | null; created_at: Date }>(
          `SELECT id, state, done, total, rows_per_second, created_at FROM tasks
            WHERE queue = 'exports' AND (state IN ('QUEUED', 'RUNNING') OR finished_at > now() - interval '10 minutes')
            ORDER BY created_at DESC LIMIT 20`,
        );
        return rows.map((row) => ({
          id: row.id,
          state: row.state,
          done: Number(row.done),
          total: row.total === null ? null : Number(row.total),
          rowsPerSecond: row.rows_per_second,
          createdAt: row.created_at.toISOString(),
        }));
      }),
      this.panel('scheduled jobs', 'scheduled_jobs', async () => {
        const { rows } = await this.pool.query<{ job_type: string; upcoming: string; overdue: string; next_due: Date | null; oldest_overdue: Date | null }>(
          `SELECT job_type, count(*) FILTER (WHERE due_at > now()) AS upcoming, count(*) FILTER (WHERE due_at <= now()) AS overdue,
                  min(due_at) FILTER (WHERE due_at > now()) AS next_due, min(due_at) FILTER (WHERE due_at <= now()) AS oldest_overdue
             FROM scheduled_jobs WHERE state = 'pending' GROUP BY job_type ORDER BY job_type`,
        );
        return rows.map((row) => ({
          jobType: row.job_type,
          upcoming: Number(row.upcoming),
          overdue: Number(row.overdue),
          nextDueAt: iso(row.next_due),
          oldestOverdueAt: iso(row.oldest_overdue),
        }));
      }),
      this.panel('webhooks', 'webhook_deliveries', async () => {
        const { rows } = await this.pool.query<{ id: string; disabled_at: Date | null; failing_since: Date | null; pending: string; next_retry: Date | null }>(
          `SELECT e.id, e.disabled_at, e.failing_since,
                  (SELECT count(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'pending') AS pending,
                  (SELECT min(next_attempt_at) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'pending') AS next_retry
             FROM webhook_endpoints e ORDER BY e.failing_since NULLS LAST, e.created_at DESC LIMIT 50`,
        );
        // Endpoint URLs are the clients' own: ids only here.
        return rows.map((row) => ({
          id: row.id,
          disabled: row.disabled_at !== null,
          failingSince: iso(row.failing_since),
          pending: Number(row.pending),
          nextRetryAt: iso(row.next_retry),
        }));
      }),
      this.panel('request-reply', 'request_reply_results', async () => {
        const { rows } = await this.pool.query<{ in_flight: string; late: string; timed_out: string }>(
          `SELECT count(*) FILTER (WHERE answered_at IS NULL AND deadline > now()) AS in_flight,
                  count(*) FILTER (WHERE answered_at > deadline) AS late,
                  count(*) FILTER (WHERE answered_at IS NULL AND deadline <= now()) AS timed_out
             FROM request_reply_results WHERE created_at > now() - interval '1 hour'`,
        );
        const row = rows[0]!;
        return { inFlight: Number(row.in_flight), late: Number(row.late), timedOut: Number(row.timed_out) };
      }),
      this.batchIngestion(now),
    ]);
    this.current = { readAt: new Date(now).toISOString(), parkedKeys, orders, exports, scheduledJobs, webhooks, requestReply, batchIngestion };
    return this.current;
  }

  private async batchIngestion(now: number): Promise<Panel<BatchIngestion>> {
    const url = this.options.batchMetricsUrl;
    if (url === undefined) return unavailable('DASHBOARD_BATCH_METRICS_URL is not set');
    return this.panel('batch ingestion', null, async () => {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
      const samples = parseMetrics(await response.text());
      const value = (name: string) => samples.find((s) => s.name === name)?.value ?? 0;
      const rowsWritten = value('batch_ingestion_rows_written_total');
      const previous = this.lastRows;
      this.lastRows = { time: now, rows: rowsWritten };
      const rowsRejected: Record<string, number> = {};
      for (const s of samples.filter((s) => s.name === 'batch_ingestion_rows_rejected_total')) rowsRejected[s.labels.outcome ?? ''] = s.value;
      const flushReasons: Record<string, number> = {};
      for (const s of samples.filter((s) => s.name === 'batch_ingestion_flushes_total')) flushReasons[s.labels.reason ?? ''] = s.value;
      return {
        rowsWritten,
        rowsPerSecond: previous && now > previous.time ? ((rowsWritten - previous.rows) * 1000) / (now - previous.time) : null,
        rowsRejected,
        paused: value('batch_ingestion_paused') === 1,
        backpressureSeconds: value('batch_ingestion_backpressure_seconds_total'),
        flushRows: histogramOf(samples, 'batch_ingestion_flush_rows'),
        flushSeconds: histogramOf(samples, 'batch_ingestion_flush_seconds'),
        flushReasons,
      };
    });
  }
}
