/** Creates the declared topics and registers their schemas: `npm run provision`. */
import { kafkaVariables, loadConfig, registryVariables } from '../shared/config.js';
import { describeFallback, fallBackToLocalStack } from '../shared/local-stack-addresses.js';
import { provisionTopology } from '../shared/kafka/provision.js';
import { runTask } from '../shared/service.js';
import { topology } from '../shared/contracts/topics.js';

await runTask('provision', async (logger) => {
  // As `npm run dlq`: unset addresses mean the local stack's, and the command says so.
  const { environment, filled } = fallBackToLocalStack(['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL']);
  const notice = describeFallback('provision', filled);
  if (notice) process.stderr.write(`${notice}\n`);
  const config = loadConfig({ ...kafkaVariables, ...registryVariables }, environment);
  const ids = await provisionTopology(config, logger, topology);
  logger.info({ schemaIds: ids }, 'schemas registered');
});
