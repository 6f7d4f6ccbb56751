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
  /** How long a valid key is taken as valid without asking the database again: a revoked key fails within this. */
  keyCacheMs: number;
  /** @defaultValue no demo client */
  demoApiKey?: string | undefined;
}

const bearer = /^Bearer\s+(\S+)\s*$/i;

/** Keys found valid lately: most requests then cost no database round trip. Invalid keys are not kept. */
class KeyCache {
  private static readonly MAX_ENTRIES = 10_000;
  private readonly entries = new Map<string, { clientId: string; until: number }>();

  constructor(private readonly ttlMs: number) {}

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.until > Date.now()) return entry.clientId;
    if (entry) this.entries.delete(key);
    return undefined;
  }

  set(key: string, clientId: string | undefined): string | undefined {
    if (clientId === undefined || this.ttlMs === 0) return clientId;
    if (this.entries.size >= KeyCache.MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { clientId, until: Date.now() + this.ttlMs });
    return clientId;
  }
}

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
  const valid = new KeyCache(options.keyCacheMs);
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
      const clientId = key === undefined ? undefined : (valid.get(key) ?? valid.set(key, await clients.authenticate(key)));
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
