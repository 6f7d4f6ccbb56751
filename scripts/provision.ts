/** Creates the declared topics and registers their schemas: `npm run provision`. */
import { kafkaVariables, loadConfig, registryVariables } from '../shared/config.js';
import { createKafka } from '../shared/kafka/client.js';
import { describeFallback, fallBackToLocalStack } from '../shared/local-stack-addresses.js';
import { provisionTopics, registerSchemas } from '../shared/kafka/provision.js';
import { AvroSerde } from '../shared/registry/serde.js';
import { runTask } from '../shared/service.js';
import { topology } from '../shared/contracts/topics.js';
import { physicalTopics } from '../shared/kafka/topology.js';

await runTask('provision', async (logger) => {
  // As `npm run dlq`: unset addresses mean the local stack's, and the command says so.
  const { environment, filled } = fallBackToLocalStack(['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL']);
  const notice = describeFallback('provision', filled);
  if (notice) process.stderr.write(`${notice}\n`);
  const config = loadConfig({ ...kafkaVariables, ...registryVariables }, environment);
  const admin = createKafka(config, logger, 'provision').admin();
  await admin.connect();
  try {
    await provisionTopics(admin, config.topicReplicationFactor, logger, physicalTopics(topology));
  } finally {
    await admin.disconnect();
  }
  const ids = await registerSchemas(AvroSerde.connect(config.schemaRegistryUrl), Object.values(topology.topics));
  logger.info({ schemaIds: ids }, 'schemas registered');
});
