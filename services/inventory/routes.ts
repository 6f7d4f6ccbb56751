import type { FastifyInstance } from 'fastify';
import type { Pool } from '../../shared/db.js';

/** Read-only stock views, for people and tests: GET /stock and GET /stock/:sku. */
export function registerStockRoutes(app: FastifyInstance, pool: Pool): void {
  app.get('/stock', async () => {
    const { rows } = await pool.query('SELECT sku, available, reserved FROM stock ORDER BY sku');
    return rows;
  });
  app.get<{ Params: { sku: string } }>('/stock/:sku', async (request, reply) => {
    const { rows } = await pool.query('SELECT sku, available, reserved FROM stock WHERE sku = $1', [request.params.sku]);
    return rows[0] ?? reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `unknown SKU ${request.params.sku}`, field: 'sku' });
  });
}
