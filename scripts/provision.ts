/** Creates the declared topics and registers their schemas: `npm run provision`. */
import { kafkaVariables, loadConfig, registryVariables } from '../shared/config.js';
import { createKafka } from '../shared/kafka/client.js';
import { provisionTopics, registerSchemas } from '../shared/kafka/provision.js';
import { AvroSerde } from '../shared/registry/serde.js';
import { runTask } from '../shared/service.js';
import { topology } from '../shared/contracts/topics.js';
import { physicalTopics } from '../shared/kafka/topology.js';

await runTask('provision', async (logger) => {
  const config = loadConfig({ ...kafkaVariables, ...registryVariables });
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
