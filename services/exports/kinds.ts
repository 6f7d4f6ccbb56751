import pg from 'pg';
import type { Queryable } from '../../shared/db.js';

export const exportKinds = ['orders', 'revenue'] as const;
export type ExportKind = (typeof exportKinds)[number];

/** What an export was asked for (stored as the task's params). */
export interface ExportParams {
  kind: ExportKind;
  /** ISO instants: from inclusive, to exclusive. */
  from: string;
  to: string;
  format: 'csv';
  callbackUrl: string | null;
}

/** The keyset cursor: the last exported row's key, so the next page starts exactly after it. */
export type Cursor = ReadonlyArray<string | number>;

export interface KindQuery {
  columns: readonly string[];
  /** The key before every row. */
  start: Cursor;
  /** How many leading columns are the key. */
  keyColumns: number;
  countSql: string;
  /** $1 from, $2 to, then the cursor's values, then the limit. */
  pageSql: string;
  /** The same rows without paging, for a plain COPY to compare with ($1 from, $2 to). */
  allSql: string;
}

const utc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const orderLines = `FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.created_at >= $1::timestamptz AND o.created_at < $2::timestamptz`;
const orderColumns = `l.order_id::text, l.line_no, ${utc('o.created_at')}, o.status, o.customer_id, o.currency, l.sku, l.quantity,
  l.unit_price_cents, l.quantity * l.unit_price_cents`;

const revenueHours = `SELECT date_trunc('hour', occurred_at, 'UTC') AS hour, currency, sum(amount_cents) AS revenue_cents, count(*) AS events
  FROM analytics_events WHERE event_type = 'REVENUE' AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz`;

/**
 * The export kinds. Each pages by a unique key in key order (keyset pagination): a checkpoint is
 * the last key written, so a resumed export continues exactly after it, whatever happened between.
 */
export const kinds: Record<ExportKind, KindQuery> = {
  // One row per order line with its order's status; the key is the line's primary key.
  orders: {
    columns: ['order_id', 'line_no', 'created_at', 'status', 'customer_id', 'currency', 'sku', 'quantity', 'unit_price_cents', 'line_total_cents'],
    start: ['00000000-0000-0000-0000-000000000000', -1],
    keyColumns: 2,
    countSql: `SELECT count(*)::float8 AS count ${orderLines}`,
    // o.id >= $3 as well: the merge join's scan of orders then starts at the cursor, not at the table's start.
    pageSql: `SELECT ${orderColumns} ${orderLines} AND o.id >= $3::uuid AND (l.order_id, l.line_no) > ($3::uuid, $4::int)
      ORDER BY l.order_id, l.line_no LIMIT $5::int`,
    allSql: `SELECT ${orderColumns} ${orderLines} ORDER BY l.order_id, l.line_no`,
  },
  // Revenue per hour (UTC) and currency from the analytics store; the key is (hour, currency).
  revenue: {
    columns: ['hour', 'currency', 'revenue_cents', 'events'],
    start: ['-infinity', ''],
    keyColumns: 2,
    countSql: `SELECT count(*)::float8 AS count FROM (${revenueHours} GROUP BY 1, 2) AS g`,
    pageSql: `SELECT ${utc('hour')}, currency, revenue_cents, events FROM (
        ${revenueHours} AND occurred_at >= $3::timestamptz GROUP BY 1, 2
      ) AS g WHERE (hour, currency) > ($3::timestamptz, $4::text) ORDER BY hour, currency LIMIT $5::int`,
    allSql: `SELECT ${utc('hour')}, currency, revenue_cents, events FROM (${revenueHours} GROUP BY 1, 2) AS g ORDER BY hour, currency`,
  },
};

export async function countRows(db: Queryable, params: ExportParams): Promise<number> {
  const { rows } = await db.query<{ count: number }>(kinds[params.kind].countSql, [params.from, params.to]);
  return rows[0]!.count;
}

/**
 * The page after `cursor` as a statement COPY can run (COPY takes no parameters): every value a
 * quoted literal, cast by the query itself.
 */
export function pageStatement(params: ExportParams, cursor: Cursor | null, limit: number): string {
  const kind = kinds[params.kind];
  return inlined(kind.pageSql, [params.from, params.to, ...(cursor ?? kind.start), limit]);
}

/** The whole export's query as COPY can run it (for the benchmark's and tests' reference). */
export function allStatement(kind: ExportKind, from: string, to: string): string {
  return inlined(kinds[kind].allSql, [from, to]);
}

function inlined(sql: string, values: ReadonlyArray<string | number>): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const value = values[Number(n) - 1];
    if (value === undefined) throw new Error(`no value for $${n}`);
    return pg.escapeLiteral(String(value));
  });
}
