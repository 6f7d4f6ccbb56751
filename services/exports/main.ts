/**
 * The exports service: an HTTP API over long-running exports (POST /exports, progress by polling
 * or SSE, the CSV, cancel, retry) and a pool of task workers (shared/tasks/) that work them chunk
 * by chunk. Any number of instances share the tasks table (`npm start -- --scale exports=3`).
 *   node dist/services/exports/main.js (after npm run build; npm start runs the source)
 */
import { prunePeriodically } from '../../shared/prune-periodically.js';
import { topology } from '../../shared/contracts/topics.js';
import { runWorkerService } from '../../shared/kit/worker-service.js';
import { instanceId } from '../../shared/logger.js';
import { TaskChanges } from '../../shared/tasks/task-changes.js';
import { TaskStore, tasksSql } from '../../shared/tasks/store.js';
import { TaskWorkerPool } from '../../shared/tasks/worker-pool.js';
import { loadServiceConfig } from './config.js';
import { exportHandler } from './export-task.js';
import { completionEvent, exportIdempotencyKeys, EXPORTS_QUEUE } from './exports.js';
import { chunkDuration, fencingRefusals, registerStateGauge, resumes, rowsExported } from './metrics.js';
import { registerExportRoutes } from './routes.js';
import { clientApi } from '../../shared/clients/client-api.js';
import { clientsSql } from '../../shared/clients/client-store.js';

// Made by work(), which the kit runs before it adds the routes.
let parts: { store: TaskStore; changes: TaskChanges } | undefined;

await runWorkerService('exports', {
  config: loadServiceConfig,
  database: { sql: [clientsSql, tasksSql, new URL('./schema.sql', import.meta.url)], outbox: { table: 'exports_outbox', topology } },
  work: ({ config, pool, outbox, logger, shutdown }) => {
    const store = new TaskStore(pool);
    const changes = new TaskChanges(config.databaseUrl!, logger);
    changes.start();
    shutdown.add('task changes listener', () => changes.stop());
    parts = { store, changes };
    const workers = new TaskWorkerPool({
      store,
      changes,
      queue: EXPORTS_QUEUE,
      handler: exportHandler(pool, { readWindowMs: config.taskReadWindowMs }),
      owner: `${instanceId}:${process.pid}`,
      logger,
      leaseMs: config.taskLeaseMs,
      heartbeatMs: config.taskHeartbeatMs,
      chunkRows: config.taskChunkRows,
      concurrency: config.taskConcurrency,
      pollMs: config.taskPollMs,
      maxAttempts: config.taskMaxAttempts,
      retryBackoff: { initialMs: config.taskRetryInitialMs, maxMs: 60_000 },
      onSettled: completionEvent(outbox),
      onChunk: (seconds, rows) => {
        chunkDuration.observe(seconds);
        rowsExported.inc(rows);
      },
      onResume: () => resumes.inc(),
      onFencingRefusal: () => fencingRefusals.inc(),
    });
    workers.start();
    // Released on the signal itself, not in turn after the HTTP server has closed: a task in progress
    // keeps its committed chunks and another instance resumes it at once.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void workers.stop());
    shutdown.add('task workers', () => workers.stop(), 5000);
    registerStateGauge(store, EXPORTS_QUEUE);
  },
  routes: (app, { config, pool, outbox, logger }) => {
    const stopPruning = prunePeriodically({ what: 'export_idempotency_keys', prune: () => exportIdempotencyKeys.prune(pool), logger });
    app.addHook('onClose', async () => stopPruning());
    clientApi(app, { pool, logger, ...config }, (api) =>
      registerExportRoutes(api, { pool, outbox, ...parts!, onSettled: completionEvent(outbox), logger }),
    );
  },
});
