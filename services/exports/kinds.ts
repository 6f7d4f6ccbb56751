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
  /** The API client that asked for it: the only one that sees it. */
  clientId: string;
}

/** Where an export stands: the last exported row's key (as text), so the next read starts exactly after it. */
export type Cursor = ReadonlyArray<string | number>;

export interface KindQuery {
  columns: readonly string[];
  /** $1 from, $2 to, $3 the client. */
  countSql: string;
  /**
   * The rows as their columns in key order, the key's two columns first (a COPY … CSV writes them);
   * with `after`, only the rows after the key ($4, $5). $1 from, $2 to, $3 the client.
   */
  readSql: (after: boolean) => string;
}

interface Column {
  name: string;
  sql: string;
}

const utc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const select = (columns: readonly Column[]) => columns.map((c) => `${c.sql} AS ${c.name}`).join(', ');

const orderLines = `FROM order_lines l JOIN orders o ON o.id = l.order_id
  WHERE o.client_id = $3::uuid AND o.created_at >= $1::timestamptz AND o.created_at < $2::timestamptz`;
const orderColumns: Column[] = [
  { name: 'order_id', sql: 'l.order_id' },
  { name: 'line_no', sql: 'l.line_no' },
  { name: 'created_at', sql: utc('o.created_at') },
  { name: 'status', sql: 'o.status' },
  { name: 'customer_id', sql: 'o.customer_id' },
  { name: 'currency', sql: 'o.currency' },
  { name: 'sku', sql: 'l.sku' },
  { name: 'quantity', sql: 'l.quantity' },
  { name: 'unit_price_cents', sql: 'l.unit_price_cents' },
  { name: 'line_total_cents', sql: 'l.quantity * l.unit_price_cents' },
];

const revenueHours = `SELECT date_trunc('hour', occurred_at, 'UTC') AS hour, currency, sum(amount_cents) AS revenue_cents, count(*) AS events
  FROM analytics_events WHERE client_id = $3::uuid AND event_type = 'REVENUE' AND occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz`;
const revenueColumns: Column[] = [
  { name: 'hour', sql: utc('hour') },
  { name: 'currency', sql: 'currency' },
  { name: 'revenue_cents', sql: 'revenue_cents' },
  { name: 'events', sql: 'events' },
];

/**
 * The export kinds, each the rows of the client that asked. Each reads in the order of a unique key:
 * a checkpoint is the last key written, so a resumed export continues exactly after it.
 */
export const kinds: Record<ExportKind, KindQuery> = {
  // One row per order line with its order's status; the key is the line's primary key.
  orders: {
    columns: orderColumns.map((c) => c.name),
    countSql: `SELECT count(*)::float8 AS count ${orderLines}`,
    // o.id >= $4 as well: a merge join's scan of orders then starts at the cursor, not at the table's start.
    readSql: (after) => `SELECT ${select(orderColumns)} ${orderLines}
      ${after ? 'AND o.id >= $4::uuid AND (l.order_id, l.line_no) > ($4::uuid, $5::int)' : ''} ORDER BY l.order_id, l.line_no`,
  },
  // Revenue per hour (UTC) and currency from the analytics store; the key is (hour, currency).
  revenue: {
    columns: revenueColumns.map((c) => c.name),
    countSql: `SELECT count(*)::float8 AS count FROM (${revenueHours} GROUP BY 1, 2) AS g`,
    readSql: (after) => `SELECT ${select(revenueColumns)}
      FROM (${revenueHours} ${after ? 'AND occurred_at >= $4::timestamptz' : ''} GROUP BY 1, 2) AS g
      ${after ? 'WHERE (g.hour, g.currency) > ($4::timestamptz, $5::text)' : ''} ORDER BY g.hour, g.currency`,
  },
};

/** The header line: column names are plain identifiers, never quoted. */
export function csvHeader(kind: ExportKind): string {
  return `${kinds[kind].columns.join(',')}\r\n`;
}

export async function countRows(db: Queryable, params: ExportParams): Promise<number> {
  const { rows } = await db.query<{ count: number }>(kinds[params.kind].countSql, [params.from, params.to, params.clientId]);
  return rows[0]!.count;
}

/** The export's rows after `after` (all of them without), as a statement COPY can run (no parameters). */
export function readStatement(params: ExportParams, after: Cursor | undefined): string {
  const values = [params.from, params.to, params.clientId, ...(after ?? [])];
  return inlined(kinds[params.kind].readSql(after !== undefined), values);
}

/** The whole export's query as COPY can run it (for the benchmark's and tests' reference). */
export function allStatement(kind: ExportKind, from: string, to: string, clientId: string): string {
  return inlined(kinds[kind].readSql(false), [from, to, clientId]);
}

function inlined(sql: string, values: ReadonlyArray<string | number>): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const value = values[Number(n) - 1];
    if (value === undefined) throw new Error(`no value for $${n}`);
    return pg.escapeLiteral(String(value));
  });
}
