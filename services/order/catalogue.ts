import type { Pool } from '../../shared/db.js';

/**
 * Unit prices from the catalogue table. The price list of a currency is read at most once per
 * `cacheMs` (prices change rarely; an order costs one database round trip fewer), so a price
 * change reaches new orders within that time.
 */
export class Catalogue {
  private readonly lists = new Map<string, { at: number; prices: Promise<Map<string, number>> }>();

  constructor(
    private readonly pool: Pool,
    private readonly cacheMs: number,
  ) {}

  /** sku → unit price in `currency`, for every SKU the catalogue sells in it (empty: not sold in it). */
  async priceList(currency: string): Promise<Map<string, number>> {
    const cached = this.lists.get(currency);
    if (cached && Date.now() - cached.at < this.cacheMs) return cached.prices;
    const prices = this.pool
      .query<{ sku: string; unit_price_cents: string }>('SELECT sku, unit_price_cents FROM catalogue_prices WHERE currency = $1', [currency])
      .then(({ rows }) => new Map(rows.map((row) => [row.sku, Number(row.unit_price_cents)])));
    this.lists.set(currency, { at: Date.now(), prices });
    // A failed read is not cached.
    prices.catch(() => this.lists.delete(currency));
    return prices;
  }
}
