import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Deliverer } from './deliverer.js';
import type { Deliveries } from './deliveries.js';
import type { Endpoints } from './endpoints.js';
import { eventTypes } from './event-types.js';
import { checkTarget, UnsafeTargetError, type AllowedNetworks } from './ssrf-guard.js';

export interface WebhookRoutesOptions {
  endpoints: Endpoints;
  deliveries: Pick<Deliveries, 'list' | 'replay'>;
  deliverer: Pick<Deliverer, 'enqueue'>;
  allowedNetworks: AllowedNetworks;
}

const registration = z.object({
  url: z.string().max(2000),
  events: z.array(z.enum(eventTypes)).min(1).max(eventTypes.length),
});
const deliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

function badRequest(reply: FastifyReply, error: z.ZodError) {
  const issue = error.issues[0]!;
  return reply.code(400).send({ field: issue.path.join('.'), message: issue.message });
}

const notFound = (reply: FastifyReply) => reply.code(404).send({ message: 'no such webhook endpoint' });

/** The webhook endpoints API, behind API keys (shared/clients): each client sees only its own endpoints. */
export function registerWebhookRoutes(app: FastifyInstance, options: WebhookRoutesOptions): void {
  const { endpoints, deliveries, deliverer } = options;

  app.post('/webhooks/endpoints', async (request, reply) => {
    const parsed = registration.safeParse(request.body);
    if (!parsed.success) return badRequest(reply, parsed.error);
    try {
      await checkTarget(parsed.data.url, options.allowedNetworks);
    } catch (error) {
      if (error instanceof UnsafeTargetError) return reply.code(400).send({ field: 'url', message: `refused: ${error.message}` });
      throw error;
    }
    // The secret is in this answer and nowhere else the API shows.
    const created = await endpoints.create(request.clientId, parsed.data.url, [...new Set(parsed.data.events)]);
    return reply.code(201).header('location', `/webhooks/endpoints/${created.id}`).send(created);
  });

  app.get('/webhooks/endpoints', async (request) => ({ endpoints: await endpoints.list(request.clientId) }));

  app.get<{ Params: { id: string } }>('/webhooks/endpoints/:id', async (request, reply) => {
    return (await endpoints.get(request.clientId, request.params.id)) ?? notFound(reply);
  });

  app.delete<{ Params: { id: string } }>('/webhooks/endpoints/:id', async (request, reply) => {
    return (await endpoints.delete(request.clientId, request.params.id)) ? reply.code(204).send() : notFound(reply);
  });

  app.post<{ Params: { id: string } }>('/webhooks/endpoints/:id/rotate-secret', async (request, reply) => {
    const rotated = await endpoints.rotateSecret(request.clientId, request.params.id);
    return rotated ?? notFound(reply);
  });

  app.get<{ Params: { id: string } }>('/webhooks/endpoints/:id/deliveries', async (request, reply) => {
    const parsed = deliveriesQuery.safeParse(request.query);
    if (!parsed.success) return badRequest(reply, parsed.error);
    if (!(await endpoints.get(request.clientId, request.params.id))) return notFound(reply);
    return { deliveries: await deliveries.list(request.params.id, parsed.data.limit) };
  });

  app.post<{ Params: { id: string; deliveryId: string } }>('/webhooks/endpoints/:id/deliveries/:deliveryId/replay', async (request, reply) => {
    if (!(await endpoints.get(request.clientId, request.params.id))) return notFound(reply);
    const ref = await deliveries.replay(request.params.id, request.params.deliveryId);
    if (!ref) return reply.code(404).send({ message: 'no such delivery, its endpoint is disabled, or an attempt is in flight' });
    deliverer.enqueue([ref]);
    return reply.code(202).send({ id: ref.deliveryId, state: 'pending' });
  });
}
