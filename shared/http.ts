import { STATUS_CODES } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from './logger.js';
import { metrics } from './metrics.js';

export interface HttpServerOptions {
  logger: Logger;
  /** Ready means: every dependency the service needs to do its work answers (e.g. group joined). */
  ready: () => boolean | Promise<boolean>;
  /**
   * Live means: the process still gets its work done (e.g. its consumer is not stalled); an
   * orchestrator restarts a process that is not.
   * @defaultValue always live
   */
  live?: () => boolean;
  /**
   * Largest accepted request body in bytes; larger ones get 413.
   * @defaultValue 65536
   */
  bodyLimit?: number;
}

/**
 * The HTTP server every service runs: liveness at /healthz (restart me when 503), readiness at
 * /readyz (send me work when 200), Prometheus metrics at /metrics. Services add their own routes before listen().
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    // One log line per request would drown the event logs; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const live = options.live ?? (() => true);
  app.get('/healthz', async (_request, reply) => (live() ? reply.send({ status: 'ok' }) : reply.code(503).send({ status: 'stalled' })));
  app.get('/readyz', async (_request, reply) => {
    const ready = await options.ready();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.header('Content-Type', metrics.contentType).send(await metrics.metrics()),
  );
  return app;
}

/** Every error answer of the services' APIs has this shape; `field` names what to fix. */
export function sendProblem(reply: FastifyReply, statusCode: number, message: string, field?: string): FastifyReply {
  return reply.code(statusCode).send({ statusCode, error: STATUS_CODES[statusCode], message, ...(field ? { field } : {}) });
}

/** A request header's first value. */
export function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function isJsonRequest(request: FastifyRequest): boolean {
  return headerOf(request, 'content-type')?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}
