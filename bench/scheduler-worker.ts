/**
 * One dispatcher for `npm run bench:scheduler`: the platform Dispatcher on the bench's own database,
 * handing due jobs to an outbox that no relay reads (the hand-off is what is measured). Logs
 * warnings only; runs until SIGTERM.
 */
import { z } from 'zod';
import { databaseVariables, loadConfig, positiveInt, variable } from '../shared/config.js';
import { schemas } from '../shared/contracts/schemas.js';
import { createPool } from '../shared/db.js';
import { declareTopic, topicLookup } from '../shared/kafka/topology.js';
import { createLogger } from '../shared/logger.js';
import { Outbox } from '../shared/outbox/outbox.js';
import { Dispatcher } from '../shared/scheduler/dispatcher.js';

const config = loadConfig({
  ...databaseVariables,
  topic: variable('BENCH_TOPIC', z.string()),
  maxPerSecond: variable('SCHEDULER_MAX_PER_SECOND', positiveInt.default(5000)),
});
const logger = createLogger('bench-scheduler-worker');
logger.level = 'warn';
const pool = createPool(config.databaseUrl, logger, { max: 4 });
const dispatcher = new Dispatcher({
  pool,
  databaseUrl: config.databaseUrl,
  outbox: new Outbox(pool, 'scheduler_outbox'),
  topics: topicLookup({ topics: { bench: declareTopic(config.topic, schemas.OrderStep) } }),
  logger,
  maxPerSecond: config.maxPerSecond,
});
dispatcher.start();
process.send?.('ready');
process.once('SIGTERM', () => {
  void dispatcher
    .stop()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
