/**
 * The stack as containers, for machines with a Docker engine: the same images as docker-compose.yml.
 * Mail goes to the SMTP sink of the local stack, which needs no container.
 */
import { KafkaContainer } from '@testcontainers/kafka';
import { PostgreSqlContainer } from '@testcontainers/postgresql';
import { GenericContainer, Network, Wait } from 'testcontainers';
import { defaults, type StackEnv } from '../../stack/layout.js';

export async function startContainers(): Promise<{ env: StackEnv; teardown: () => Promise<void> }> {
  const network = await new Network().start();
  const [kafka, postgres] = await Promise.all([
    new KafkaContainer('apache/kafka:4.1.1').withKraft().withNetwork(network).withNetworkAliases('kafka').start(),
    new PostgreSqlContainer('postgres:17-alpine').withDatabase('order_pipeline').start(),
  ]);
  const registry = await new GenericContainer('confluentinc/cp-schema-registry:7.9.0')
    .withNetwork(network)
    .withEnvironment({
      SCHEMA_REGISTRY_HOST_NAME: 'schema-registry',
      SCHEMA_REGISTRY_LISTENERS: 'http://0.0.0.0:8081',
      SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS: 'PLAINTEXT://kafka:9092',
      SCHEMA_REGISTRY_SCHEMA_COMPATIBILITY_LEVEL: 'BACKWARD',
    })
    .withExposedPorts(8081)
    .withWaitStrategy(Wait.forHttp('/subjects', 8081))
    .start();
  return {
    env: {
      KAFKA_BROKERS: `${kafka.getHost()}:${kafka.getMappedPort(9093)}`,
      SCHEMA_REGISTRY_URL: `http://${registry.getHost()}:${registry.getMappedPort(8081)}`,
      DATABASE_URL: postgres.getConnectionUri(),
      SMTP_URL: defaults.SMTP_URL,
    },
    teardown: async () => {
      await Promise.all([registry.stop(), postgres.stop()]);
      await kafka.stop();
      await network.stop();
    },
  };
}
