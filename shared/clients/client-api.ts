import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from '../db.js';
import { headerOf, sendProblem } from '../http.js';
import type { Logger } from '../logger.js';
import { ClientStore } from './client-store.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API client the request's key belongs to (set by clientApi's routes before any handler). */
    clientId: string;
  }
}

/** The name of the local stacks' demo client (DEMO_API_KEY). */
export const DEMO_CLIENT_NAME = 'demo';

export interface ClientApiOptions {
  pool: Pool;
  logger: Logger;
  /** Requests one client may make per window (per instance: each keeps its own counts). */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** @defaultValue no demo client */
  demoApiKey?: string | undefined;
}

const bearer = /^Bearer\s+(\S+)\s*$/i;

function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  return sendProblem(reply.header('WWW-Authenticate', 'Bearer'), 401, message, 'Authorization');
}

/**
 * Adds `routes` behind API keys: every request needs `Authorization: Bearer <key>` of an active
 * client (401 otherwise), its client id is `request.clientId`, and each client has its own rate
 * limit (429 with Retry-After). Routes outside (health, readiness, metrics) stay open.
 */
export function clientApi(app: FastifyInstance, options: ClientApiOptions, routes: (scope: FastifyInstance) => void): void {
  const clients = new ClientStore(options.pool);
  void app.register(async (scope) => {
    if (options.demoApiKey) {
      const demo = await clients.ensure(DEMO_CLIENT_NAME, options.demoApiKey);
      options.logger.info({ clientId: demo.id }, 'demo client ensured (DEMO_API_KEY)');
    }
    scope.decorateRequest('clientId', '');
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const header = headerOf(request, 'authorization');
      if (header === undefined) return unauthorized(reply, 'an API key is required: Authorization: Bearer <key>');
      const key = bearer.exec(header)?.[1];
      const clientId = key === undefined ? undefined : await clients.authenticate(key);
      if (!clientId) return unauthorized(reply, 'the API key is not valid (unknown or revoked)');
      request.clientId = clientId;
      return undefined;
    });
    // Route-level onRequest hooks run after the scope's: the client is known when it is counted.
    await scope.register(rateLimit, {
      max: options.rateLimitMax,
      timeWindow: options.rateLimitWindowMs,
      keyGenerator: (request) => request.clientId,
      errorResponseBuilder: (_request, context) => ({
        statusCode: 429,
        error: 'Too Many Requests',
        message: `rate limit of ${context.max} requests per ${context.after} exceeded; retry in ${context.after}`,
      }),
    });
    routes(scope);
  });
}
