import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createHttpServer } from '../http.js';
import type { Logger } from '../logger.js';
import type { GracefulShutdown } from '../shutdown.js';

/** The HTTP server's share of the shutdown bound: requests in progress get this long to finish. */
export const HTTP_CLOSE_BOUND_MS = 3000;

export interface ServeHttpOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  ready: () => boolean | Promise<boolean>;
  /** @defaultValue always live */
  live?: (() => boolean) | undefined;
  /** @defaultValue createHttpServer's (64 KiB) */
  bodyLimit?: number | undefined;
  /** The service's own routes, added before listening. */
  routes?: ((app: FastifyInstance) => void) | undefined;
}

/**
 * Serves /healthz, /readyz, /metrics and the service's routes. Its closer is registered now, so when
 * this is the last part started it is the first stopped: no new requests while the rest winds down.
 */
export async function serveHttp(options: ServeHttpOptions, logger: Logger, shutdown: GracefulShutdown): Promise<FastifyInstance> {
  const app = createHttpServer({
    logger,
    ready: options.ready,
    ...(options.live ? { live: options.live } : {}),
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
  });
  options.routes?.(app);
  await app.listen({ host: options.host, port: options.port });
  shutdown.add('http server', () => app.close(), HTTP_CLOSE_BOUND_MS);
  const { port } = app.server.address() as AddressInfo;
  logger.info({ address: app.addresses()[0], url: `http://${options.host}:${port}` }, 'http listening');
  return app;
}
