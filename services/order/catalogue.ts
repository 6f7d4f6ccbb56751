import type { Pool } from '../../shared/db.js';

/** Unit prices in `currency` of those `skus` the catalogue sells in it (absent SKUs are unknown). */
export async function unitPrices(pool: Pool, currency: string, skus: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ sku: string; unit_price_cents: string }>(
    'SELECT sku, unit_price_cents FROM catalogue_prices WHERE currency = $1 AND sku = ANY($2::text[])',
    [currency, skus],
  );
  return new Map(rows.map((row) => [row.sku, Number(row.unit_price_cents)]));
}

/** Whether the catalogue has any price in `currency`. */
export async function sellsIn(pool: Pool, currency: string): Promise<boolean> {
  const { rowCount } = await pool.query('SELECT 1 FROM catalogue_prices WHERE currency = $1 LIMIT 1', [currency]);
  return rowCount === 1;
}
