/**
 * The stack as containers, for machines with a Docker engine: the same images as docker-compose.yml,
 * Mailpit included (the local SMTP sink serves the same API, so mail tests read either).
 */
import { KafkaContainer } from '@testcontainers/kafka';
import { PostgreSqlContainer } from '@testcontainers/postgresql';
import { GenericContainer, Network, Wait } from 'testcontainers';
import type { TestEnv } from './global-setup.js';

/**
 * The images, aligned with docker-compose.yml (test/compose/versions.unit.test.ts checks it): the same
 * PostgreSQL, registry and mail sink; for Kafka the module drives Confluent's image, whose 8.1 line is
 * Apache Kafka 4.1 in KRaft mode, the Kafka minor of compose's apache/kafka and of the local stack.
 */
export const containerImages = {
  kafka: 'confluentinc/cp-kafka:8.1.0',
  postgres: 'postgres:18-alpine',
  mail: 'axllent/mailpit:v1.27',
  schemaRegistry: 'confluentinc/cp-schema-registry:7.9.0',
} as const;

export async function startContainers(): Promise<{ env: TestEnv; teardown: () => Promise<void> }> {
  const network = await new Network().start();
  const [kafka, postgres, mail] = await Promise.all([
    new KafkaContainer(containerImages.kafka).withNetwork(network).withNetworkAliases('kafka').start(),
    new PostgreSqlContainer(containerImages.postgres).withDatabase('order_pipeline').start(),
    new GenericContainer(containerImages.mail).withExposedPorts(1025, 8025).withWaitStrategy(Wait.forHttp('/api/v1/messages', 8025)).start(),
  ]);
  const registry = await new GenericContainer(containerImages.schemaRegistry)
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
      SMTP_URL: `smtp://${mail.getHost()}:${mail.getMappedPort(1025)}`,
      MAIL_SINK_URL: `http://${mail.getHost()}:${mail.getMappedPort(8025)}`,
    },
    teardown: async () => {
      await Promise.all([registry.stop(), postgres.stop(), mail.stop()]);
      await kafka.stop();
      await network.stop();
    },
  };
}
