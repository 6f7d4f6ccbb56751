import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { headerOf, sendProblem } from '../http.js';

export interface AdminApiOptions {
  /** ADMIN_TOKEN; without it every operator route answers 401: the routes exist but nobody may call them. */
  adminToken: string | undefined;
}

const bearer = /^Bearer\s+(\S+)\s*$/i;

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/** Whether `given` is the admin token, in time independent of where, or how long, they differ. */
export function isAdminToken(given: string, adminToken: string): boolean {
  return timingSafeEqual(digest(given), digest(adminToken));
}

/**
 * Adds `routes` for operators: every request needs `Authorization: Bearer <ADMIN_TOKEN>`. Client API
 * keys are not accepted here, and the admin token is not an API key: the two never open each other's
 * routes.
 */
export function adminApi(app: FastifyInstance, options: AdminApiOptions, routes: (scope: FastifyInstance) => void): void {
  void app.register(async (scope) => {
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      const refuse = (message: string) => sendProblem(reply.header('WWW-Authenticate', 'Bearer'), 401, message, 'Authorization');
      if (options.adminToken === undefined) return refuse('operator endpoints are off: this service has no ADMIN_TOKEN');
      const token = bearer.exec(headerOf(request, 'authorization') ?? '')?.[1];
      if (token === undefined) return refuse('the admin token is required: Authorization: Bearer <ADMIN_TOKEN>');
      if (!isAdminToken(token, options.adminToken)) return refuse('the admin token is not valid');
      return undefined;
    });
    routes(scope);
  });
}
