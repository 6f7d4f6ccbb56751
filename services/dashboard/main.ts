/**
 * The operations dashboard: consumer lag computed cluster-side with Burrow's statuses, retry tiers,
 * dead letters (browse, and replay with the admin token), batch ingestion, orders and jobs, on one
 * page with live updates. One poller reads the broker and the database for every viewer.
 *   node dist/services/dashboard/main.js (after npm run build; npm start runs the source)
 */
import { topology } from '../../shared/contracts/topics.js';
import type { DlqContext } from '../../shared/dlq/index.js';
import { dlqOperationsSql } from '../../shared/dlq/index.js';
import { createKafka } from '../../shared/kafka/client.js';
import { createAdmin } from '../../shared/kafka/tooling-clients.js';
import { openDatabase } from '../../shared/kit/database.js';
import { serveHttp } from '../../shared/kit/serve-http.js';
import { AvroSerde } from '../../shared/registry/serde.js';
import { runService } from '../../shared/service.js';
import { loadServiceConfig } from './config.js';
import { registerDlqRoutes } from './dlq-routes.js';
import { LagPoller } from './lag-poller.js';
import { registerLiveFeed } from './live-feed.js';
import { Panels } from './panels.js';
import { registerDashboardRoutes } from './routes.js';
import { watchedGroups } from './watched-groups.js';

await runService('dashboard', async ({ logger, shutdown }) => {
  const config = loadServiceConfig();
  const { pool } = await openDatabase({ url: config.databaseUrl, consumerRuntime: false, sql: [dlqOperationsSql] }, logger, shutdown);
  const kafka = createKafka(config, logger, 'dashboard');
  const admin = createAdmin(kafka);
  await admin.connect();
  shutdown.add('kafka admin', () => admin.disconnect(), 2000);

  const poller = new LagPoller(admin, watchedGroups(topology, config.extraGroups ?? []), { pollMs: config.pollMs, logger });
  const panels = new Panels(pool, { logger, batchMetricsUrl: config.batchMetricsUrl });
  const panelListeners: Array<(value: unknown) => void> = [];
  // The database panels follow the lag poll: one read per poll, whatever the number of viewers.
  poller.on('snapshot', () => {
    void panels.read().then((snapshot) => {
      for (const listener of panelListeners) listener(snapshot);
    });
  });
  poller.start();
  shutdown.add('lag poller', () => poller.stop(), 3000);

  const context: DlqContext = { kafka, admin, serde: AvroSerde.connect(config.schemaRegistryUrl), logger, pool: async () => pool };
  await serveHttp(
    {
      host: config.host,
      port: config.httpPort,
      ready: () => poller.snapshot().polledAt !== null && poller.snapshot().error === null,
      routes: (app) => {
        registerDashboardRoutes(app, poller, panels);
        registerLiveFeed(app, [
          { event: 'lag', current: () => poller.snapshot(), subscribe: (listener) => poller.on('snapshot', listener) },
          { event: 'panels', current: () => panels.snapshot(), subscribe: (listener) => panelListeners.push(listener) },
        ]);
        registerDlqRoutes(app, context, topology, { adminToken: config.adminToken, extraGroups: config.extraGroups ?? [] });
      },
    },
    logger,
    shutdown,
  );
});
