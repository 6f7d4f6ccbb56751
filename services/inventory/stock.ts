import type { PoolClient } from '../../shared/db.js';
import { PermanentError } from '../../shared/errors.js';

export interface StockLine {
  sku: string;
  quantity: number;
}

export interface Shortage {
  sku: string;
  requested: number;
  available: number;
}

export type ReserveOutcome = { kind: 'reserved'; lines: StockLine[] } | { kind: 'rejected'; shortages: Shortage[] };

/** One line per SKU, in SKU order: the order in which rows are locked, so two orders cannot deadlock. */
export function normalise(items: ReadonlyArray<StockLine>): StockLine[] {
  const bySku = new Map<string, number>();
  for (const { sku, quantity } of items) {
    if (!Number.isInteger(quantity) || quantity <= 0) throw new PermanentError(`quantity ${quantity} of ${sku} is not a positive integer`);
    bySku.set(sku, (bySku.get(sku) ?? 0) + quantity);
  }
  return [...bySku].map(([sku, quantity]) => ({ sku, quantity })).sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

/** Locks the stock rows of `skus` in SKU order; returns sku → available. */
async function lockStock(client: PoolClient, skus: string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ sku: string; available: number }>(
    'SELECT sku, available FROM stock WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE',
    [skus],
  );
  return new Map(rows.map((row) => [row.sku, row.available]));
}

/**
 * Reserves every line of an order or none, inside the caller's transaction. The stock rows are
 * locked first (SKU order), so concurrent orders for the same SKU queue up and none can oversell.
 */
export async function reserve(client: PoolClient, orderId: string, causeEventId: string, items: ReadonlyArray<StockLine>): Promise<ReserveOutcome> {
  const lines = normalise(items);
  if (lines.length === 0) throw new PermanentError(`order ${orderId} has no lines`);
  const available = await lockStock(client, lines.map((line) => line.sku));
  const unknown = lines.filter((line) => !available.has(line.sku)).map((line) => line.sku);
  // Not retriable: the order service only accepts catalogue SKUs, so this event was not made by it.
  if (unknown.length > 0) throw new PermanentError(`unknown SKU(s) ${unknown.join(', ')} in order ${orderId}`);
  const held = await client.query('SELECT 1 FROM stock_reservations WHERE order_id = $1 LIMIT 1', [orderId]);
  if (held.rowCount) throw new PermanentError(`order ${orderId} already holds a reservation (published twice under different event ids?)`);

  const shortages = lines
    .filter((line) => available.get(line.sku)! < line.quantity)
    .map((line) => ({ sku: line.sku, requested: line.quantity, available: available.get(line.sku)! }));
  if (shortages.length > 0) return { kind: 'rejected', shortages };

  const skus = lines.map((line) => line.sku);
  const quantities = lines.map((line) => line.quantity);
  await client.query(
    `UPDATE stock s SET available = s.available - l.quantity, reserved = s.reserved + l.quantity, updated_at = now()
       FROM unnest($1::text[], $2::int[]) AS l (sku, quantity) WHERE s.sku = l.sku`,
    [skus, quantities],
  );
  await client.query(
    `INSERT INTO stock_reservations (order_id, sku, quantity, status, cause_event_id)
     SELECT $1, sku, quantity, 'RESERVED', $4 FROM unnest($2::text[], $3::int[]) AS l (sku, quantity)`,
    [orderId, skus, quantities, causeEventId],
  );
  return { kind: 'reserved', lines };
}

/** Puts back what an order holds (the saga's compensation); returns what was released, maybe nothing. */
export async function release(client: PoolClient, orderId: string): Promise<StockLine[]> {
  const { rows } = await client.query<StockLine>(
    "SELECT sku, quantity FROM stock_reservations WHERE order_id = $1 AND status = 'RESERVED' ORDER BY sku FOR UPDATE",
    [orderId],
  );
  if (rows.length === 0) return [];
  await lockStock(client, rows.map((row) => row.sku));
  await client.query(
    `UPDATE stock s SET available = s.available + l.quantity, reserved = s.reserved - l.quantity, updated_at = now()
       FROM unnest($1::text[], $2::int[]) AS l (sku, quantity) WHERE s.sku = l.sku`,
    [rows.map((row) => row.sku), rows.map((row) => row.quantity)],
  );
  await client.query(
    "UPDATE stock_reservations SET status = 'RELEASED', released_at = now() WHERE order_id = $1 AND status = 'RESERVED'",
    [orderId],
  );
  return rows;
}
