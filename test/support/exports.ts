/**
 * For the exports' tests and benchmark: orders seeded by SQL (not through the pipeline), the same
 * query copied by PostgreSQL itself as the reference, the result's digest, an SSE reader.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { applySchema } from '../../shared/db.js';
import { allStatement, kinds, type ExportKind } from '../../services/exports/kinds.js';
import { apiFetch } from './api-client.js';

export const orderSchemaSql = new URL('../../services/order/schema.sql', import.meta.url);
export const analyticsSchemaSql = new URL('../../services/batch-ingestion/schema.sql', import.meta.url);

/** The day the seeded orders start; order n is created n seconds later. */
export const seedStart = Date.parse('2026-01-01T00:00:00Z');

/**
 * `orders` orders of `lines` lines each of the API client `clientId`, created one second apart from
 * seedStart; `idPrefix` makes the ids (another prefix: other orders in the same seconds). Some
 * customer ids hold a comma, a quote or a line break, so the CSV's quoting is exercised.
 */
export async function seedOrders(pool: pg.Pool, orders: number, lines: number, clientId: string, idPrefix = 'o'): Promise<void> {
  await applySchema(pool, orderSchemaSql);
  await applySchema(pool, analyticsSchemaSql);
  await pool.query(
    `INSERT INTO orders (id, customer_id, email, currency, total_cents, status, created_at, updated_at, client_id)
     SELECT md5($3 || n)::uuid,
            CASE n % 97 WHEN 0 THEN 'c-' || n || ', "quoted"' WHEN 1 THEN 'c-' || n || E'\\nnext line' ELSE 'c-' || (n % 1000) END,
            'x@example.com', (ARRAY['EUR','USD','GBP'])[1 + n % 3], 1000,
            (ARRAY['CONFIRMED','REJECTED','PENDING','CANCELLED'])[1 + n % 4], $2::timestamptz + n * interval '1 second', now(), $4::uuid
       FROM generate_series(1, $1::int) AS n`,
    [orders, new Date(seedStart).toISOString(), idPrefix, clientId],
  );
  await pool.query(
    `INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents)
     SELECT md5($3 || n)::uuid, k, 'SKU-' || lpad(((n + k) % 30 + 1)::text, 3, '0'), 1 + (n + k) % 5, 500 + k
       FROM generate_series(1, $1::int) AS n, generate_series(1, $2::int) AS k`,
    [orders, lines, idPrefix],
  );
  await pool.query('ANALYZE orders; ANALYZE order_lines');
}

/** REVENUE events of the API client `clientId` spread over `hours` hours in three currencies; `idPrefix` makes the ids. */
export async function seedRevenue(pool: pg.Pool, events: number, hours: number, clientId: string, idPrefix = 'rev-'): Promise<void> {
  await applySchema(pool, analyticsSchemaSql);
  await pool.query(
    `INSERT INTO analytics_events (event_id, event_type, order_id, customer_id, amount_cents, currency, occurred_at, client_id)
     SELECT $4 || n, 'REVENUE', 'o-' || n, 'c-1', 100 + n % 900, (ARRAY['EUR','USD','GBP'])[1 + (n / $2::int) % 3],
            $3::timestamptz + (n % $2::int) * interval '1 hour' + (n % 3600) * interval '1 second', $5::uuid
       FROM generate_series(1, $1::int) AS n`,
    [events, hours, new Date(seedStart).toISOString(), idPrefix, clientId],
  );
}

/** The export's whole query (the rows of `clientId`), run by PostgreSQL's own COPY … CSV. */
export function copySql(kind: ExportKind, from: string, to: string, clientId: string): string {
  return `COPY (${allStatement(kind, from, to, clientId)}) TO STDOUT WITH (FORMAT csv)`;
}

/** Streams COPY's output through `sink` (e.g. a hash); answers the bytes copied. */
export async function copyCsv(
  pool: pg.Pool,
  kind: ExportKind,
  from: string,
  to: string,
  clientId: string,
  sink: (chunk: Buffer) => void,
): Promise<number> {
  const client = await pool.connect();
  let bytes = 0;
  try {
    await pipeline(
      client.query(copyTo(copySql(kind, from, to, clientId))),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          sink(chunk);
          done();
        },
      }),
    );
  } finally {
    client.release();
  }
  return bytes;
}

/** COPY ends records with LF; a quoted field keeps its own line break: only record ends become CRLF. */
function withCrlf(csv: string): string {
  const pieces: string[] = [];
  let quoted = false;
  let from = 0;
  for (let i = 0; i < csv.length; i++) {
    const c = csv.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 10 && !quoted) {
      pieces.push(csv.slice(from, i), '\r\n');
      from = i + 1;
    }
  }
  pieces.push(csv.slice(from));
  return pieces.join('');
}

/** The reference CSV of an export: the header, then COPY's lines with CRLF endings (RFC 4180). */
export async function referenceCsv(pool: pg.Pool, kind: ExportKind, from: string, to: string, clientId: string): Promise<string> {
  const parts: Buffer[] = [];
  await copyCsv(pool, kind, from, to, clientId, (chunk) => parts.push(chunk));
  const body = withCrlf(Buffer.concat(parts).toString('utf8'));
  return `${kinds[kind].columns.join(',')}\r\n${body}`;
}

export const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** Reads a text/event-stream until it ends or `until` says enough; answers its events. */
export async function readSse(url: string, headers: Record<string, string> = {}, until: (events: SseEvent[]) => boolean = () => false): Promise<SseEvent[]> {
  const controller = new AbortController();
  const response = await apiFetch(url, { headers, signal: controller.signal });
  if (!response.ok || !response.body) throw new Error(`SSE ${url}: ${response.status}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const bytes of response.body) {
      buffer += decoder.decode(bytes, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
        }
        if (fields.has('data')) events.push({ id: fields.get('id'), event: fields.get('event') ?? 'message', data: fields.get('data')! });
      }
      if (until(events)) break;
    }
  } finally {
    controller.abort();
  }
  return events;
}
