/**
 * A real outbox relay process for the relay's crash test: relays RELAY_TABLE, whose rows are
 * order.cancelled values bound for RELAY_TOPIC, RELAY_BATCH_SIZE rows a round.
 */
import { z } from 'zod';
import { databaseVariables, kafkaVariables, loadConfig, positiveInt, registryVariables, variable } from '../../shared/config.js';
import { schemas } from '../../shared/contracts/schemas.js';
import { createPool } from '../../shared/db.js';
import { createKafka, kafkaClient } from '../../shared/kafka/client.js';
import { declareTopic } from '../../shared/kafka/topology.js';
import { OutboxRelay } from '../../shared/outbox/relay.js';
import { AvroSerde } from '../../shared/registry/serde.js';
import { runService } from '../../shared/service.js';

await runService('relay-worker', async ({ logger, shutdown }) => {
  const config = loadConfig({
    ...kafkaVariables,
    ...registryVariables,
    ...databaseVariables,
    table: variable('RELAY_TABLE', z.string().min(1)),
    topic: variable('RELAY_TOPIC', z.string().min(1)),
    batchSize: variable('RELAY_BATCH_SIZE', positiveInt.default(500)),
  });
  const pool = createPool(config.databaseUrl, logger);
  shutdown.add('pool', () => pool.end());
  const topic = declareTopic(config.topic, schemas.OrderCancelled);
  const relay = new OutboxRelay({
    pool,
    client: kafkaClient(createKafka(config, logger, 'relay-worker')),
    serde: AvroSerde.connect(config.schemaRegistryUrl),
    logger,
    table: config.table,
    topics: (name) => (name === topic.name ? topic : undefined),
    batchSize: config.batchSize,
    pollIntervalMs: 100,
  });
  relay.start();
  shutdown.add('relay', () => relay.stop(), 10_000);
});
