import type { FastifyInstance } from 'fastify';
import { isJsonRequest, sendProblem } from '../http.js';
import type { Logger } from '../logger.js';
import { ClientNameTakenError, clientNamePattern, type ClientStore } from './client-store.js';

/**
 * `npm run clients` over HTTP, for operators (mount inside adminApi): create a client (its key is in
 * this answer only), list them, revoke one by name or id.
 */
export function registerClientAdminRoutes(app: FastifyInstance, clients: ClientStore, logger: Logger): void {
  app.post('/admin/clients', async (request, reply) => {
    if (!isJsonRequest(request)) return sendProblem(reply, 415, 'Content-Type must be application/json', 'Content-Type');
    const name = (request.body as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !clientNamePattern.test(name)) {
      return sendProblem(reply, 400, 'name: 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit', 'name');
    }
    try {
      const created = await clients.create(name);
      logger.info({ clientId: created.id }, 'client created over the admin API');
      return await reply.code(201).header('Cache-Control', 'no-store').send(created);
    } catch (error) {
      if (error instanceof ClientNameTakenError) return sendProblem(reply, 409, error.message, 'name');
      throw error;
    }
  });

  app.get('/admin/clients', async () => ({ clients: await clients.list() }));

  app.post<{ Params: { client: string } }>('/admin/clients/:client/revoke', async (request, reply) => {
    const revoked = await clients.revoke(request.params.client);
    if (!revoked) return sendProblem(reply, 404, `no active client "${request.params.client}"`, 'client');
    logger.info({ clientId: revoked.id }, 'client revoked over the admin API');
    return revoked;
  });
}
