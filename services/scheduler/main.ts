/**
 * The scheduler: dispatches due jobs (shared/scheduler/) into its outbox, whose relay publishes
 * them. Any number of instances share the jobs table (`npm start -- --scale scheduler=3`).
 *   node dist/services/scheduler/main.js (after npm run build; npm start runs the source)
 */
import { topicLookup } from '../../shared/kafka/topology.js';
import { topology } from '../../shared/contracts/topics.js';
import { runWorkerService } from '../../shared/kit/worker-service.js';
import { Dispatcher } from '../../shared/scheduler/dispatcher.js';
import { ScheduledJobs, schedulerSql } from '../../shared/scheduler/jobs.js';
import { loadServiceConfig } from './config.js';
import { dispatchLateness, registerBacklogGauges } from './metrics.js';
import { registerScheduleRoutes } from './routes.js';

const jobs = new ScheduledJobs();

await runWorkerService('scheduler', {
  config: loadServiceConfig,
  database: { sql: [schedulerSql], outbox: { table: 'scheduler_outbox', topology } },
  work: ({ config, pool, outbox, logger, shutdown }) => {
    const dispatcher = new Dispatcher({
      pool,
      databaseUrl: config.databaseUrl,
      outbox,
      topics: topicLookup(topology),
      logger,
      batchSize: config.schedulerBatchSize,
      maxSleepMs: config.schedulerMaxSleepMs,
      maxPerSecond: config.schedulerMaxPerSecond,
      onDispatched: (lateness) => {
        for (const seconds of lateness) dispatchLateness.observe(seconds);
      },
    });
    dispatcher.start();
    // A round in progress finishes (one transaction), then the listen connection closes.
    shutdown.add('dispatcher', () => dispatcher.stop(), 5000);
    registerBacklogGauges(pool, jobs);
  },
  routes: (app, { pool }) => registerScheduleRoutes(app, pool, jobs),
});
