/**
 * A real consumer process for fault tests: runs the shared ConsumerRuntime for the group named by
 * WORKER_GROUP_ID over order.created. Each event's effect is a row in runtime_test_effects, written
 * in the same transaction as its processed-event claim, after WORKER_DELAY_MS of "work".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { databaseVariables, kafkaVariables, loadConfig, registryVariables, variable } from '../../shared/config.js';
import { ConsumerRuntime } from '../../shared/consumer/consumer-runtime.js';
import { claimEvent } from '../../shared/consumer/processed-events.js';
import { createPool, withTransaction } from '../../shared/db.js';
import { createKafka, kafkaClient } from '../../shared/kafka/client.js';
import { topics } from '../../shared/contracts/topics.js';
import { AvroSerde } from '../../shared/registry/serde.js';
import { runService } from '../../shared/service.js';

await runService('runtime-worker', async ({ logger, shutdown }) => {
  const config = loadConfig({
    ...kafkaVariables,
    ...registryVariables,
    ...databaseVariables,
    groupId: variable('WORKER_GROUP_ID', z.string().min(1)),
    delayMs: variable('WORKER_DELAY_MS', z.coerce.number().int().min(0).default(0)),
  });
  const pool = createPool(config.databaseUrl, logger);
  shutdown.add('pool', () => pool.end());
  const group = { groupId: config.groupId, topics: [topics.orderCreated] };
  const runtime = new ConsumerRuntime({
    client: kafkaClient(createKafka(config, logger, 'worker')),
    serde: AvroSerde.connect(config.schemaRegistryUrl),
    logger,
    group,
    // A killed member's partitions move after 6 s instead of 30 s: quicker fault tests.
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 1000,
  });
  runtime.on(topics.orderCreated, async (event) => {
    event.logger.debug('handling');
    await sleep(config.delayMs);
    await withTransaction(pool, async (client) => {
      if (!(await claimEvent(client, group.groupId, event.eventId))) {
        event.logger.info('already processed');
        return;
      }
      await client.query('INSERT INTO runtime_test_effects (consumer_group, event_id, pid) VALUES ($1, $2, $3)', [
        group.groupId,
        event.eventId,
        process.pid,
      ]);
    });
  });
  await runtime.start();
  // Its bound in the shutdown budget, with a second to spare after the runtime's own.
  shutdown.add('consumer', () => runtime.stop(20_000), 21_000);
});
