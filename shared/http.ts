import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
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
