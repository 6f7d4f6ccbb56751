import type { OrderRequest } from './order-api.js';

/** The local stack's catalogue: SKU-001 … SKU-030. */
export const SKUS = Array.from({ length: 30 }, (_, i) => `SKU-${String(i + 1).padStart(3, '0')}`);

/** A small seeded generator, so a failing mix of orders can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** `count` orders of 1–3 distinct SKUs, 1–3 of each, mailed to `@domain` (so a test finds its own mail). */
export function makeOrders(count: number, domain: string, seed: number, customerPrefix = 'customer'): OrderRequest[] {
  const next = random(seed);
  return Array.from({ length: count }, (_, i) => {
    const skus = new Set<string>();
    const lines = 1 + Math.floor(next() * 3);
    while (skus.size < lines) skus.add(SKUS[Math.floor(next() * SKUS.length)]!);
    return {
      customerId: `${customerPrefix}-${i}`,
      email: `${customerPrefix}-${i}@${domain}`,
      currency: 'EUR',
      items: [...skus].map((sku) => ({ sku, quantity: 1 + Math.floor(next() * 3) })),
    };
  });
}
