import kafkajs from 'kafkajs';
import type { KafkaConfig, RegistryConfig } from '../config.js';
import { AvroSerde } from '../registry/serde.js';
import type { Logger } from '../logger.js';
import { pollUntil } from '../retry/poll-until.js';
import { createKafka, type Admin } from './client.js';
import { physicalTopics, type PhysicalTopic, type TopicDeclaration, type Topology } from './topology.js';

/**
 * `min.insync.replicas` for a replication factor. Producers write with acks=all, which waits for
 * every replica still in sync; with the broker default of 1, an in-sync set shrunk to the leader
 * alone still acknowledges, and losing that broker loses acknowledged writes. With 3 replicas, 2
 * keeps every acknowledged write on two brokers while one broker may be down; with fewer replicas,
 * 2 would stop all writes whenever one broker is.
 */
export function minInsyncReplicas(replicationFactor: number): number {
  return replicationFactor >= 3 ? 2 : 1;
}

const MIN_ISR = 'min.insync.replicas';
// kafkajs is CommonJS and Node cannot see these two as named exports.
const { ConfigResourceTypes, ConfigSource } = kafkajs;

/**
 * Creates every declared topic that is missing and raises partition counts that are below the
 * declaration (Kafka cannot lower them); every topic gets the `min.insync.replicas` its replication
 * factor calls for (see minInsyncReplicas), unless its declaration says otherwise. Safe to run any
 * number of times, from any number of processes.
 */
export async function provisionTopics(
  admin: Admin,
  replicationFactor: number,
  logger: Logger,
  declared: readonly PhysicalTopic[],
): Promise<string[]> {
  const minIsr = String(minInsyncReplicas(replicationFactor));
  const withMinIsr = (topic: PhysicalTopic): Record<string, string> => ({ [MIN_ISR]: minIsr, ...topic.config });
  const existing = new Set(await admin.listTopics());
  const missing = declared.filter((topic) => !existing.has(topic.name));
  if (missing.length > 0) {
    await admin.createTopics({
      // kafkajs' own leader wait gives up on "does not host this topic-partition" on a fresh broker.
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic: topic.name,
        numPartitions: topic.partitions,
        replicationFactor,
        configEntries: Object.entries(withMinIsr(topic)).map(([name, value]) => ({ name, value })),
      })),
    });
    await waitForLeaders(admin, missing.map((topic) => topic.name));
  }
  const present = declared.filter((topic) => existing.has(topic.name));
  if (present.length > 0) {
    const metadata = await admin.fetchTopicMetadata({ topics: present.map((topic) => topic.name) });
    const tooSmall = present.filter((topic) => {
      const current = metadata.topics.find((t) => t.name === topic.name)?.partitions.length ?? 0;
      return current < topic.partitions;
    });
    if (tooSmall.length > 0) {
      await admin.createPartitions({ topicPartitions: tooSmall.map((t) => ({ topic: t.name, count: t.partitions })) });
      logger.warn({ topics: tooSmall.map((t) => t.name) }, 'raised partition counts: keys now map to other partitions');
    }
  }
  if (present.length > 0) await alignMinIsr(admin, present, withMinIsr, logger);
  const created = missing.map((topic) => topic.name);
  logger.info({ created, total: declared.length }, 'topics provisioned');
  return created;
}

/** Sets `min.insync.replicas` on existing topics where it differs (topics made before it was set). */
async function alignMinIsr(
  admin: Admin,
  topics: readonly PhysicalTopic[],
  wanted: (topic: PhysicalTopic) => Record<string, string>,
  logger: Logger,
): Promise<void> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((topic) => ({ type: ConfigResourceTypes.TOPIC, name: topic.name })),
  });
  const changes = topics.flatMap((topic) => {
    const entries = described.resources.find((r) => r.resourceName === topic.name)?.configEntries ?? [];
    const current = entries.find((entry) => entry.configName === MIN_ISR)?.configValue;
    const target = wanted(topic)[MIN_ISR];
    if (target === undefined || current === target) return [];
    // AlterConfigs replaces a topic's whole set of overrides: keep the ones it has.
    const overrides = entries.filter((entry) => entry.configSource === ConfigSource.TOPIC_CONFIG && entry.configName !== MIN_ISR);
    return [
      {
        type: ConfigResourceTypes.TOPIC,
        name: topic.name,
        configEntries: [...overrides.map((entry) => ({ name: entry.configName, value: entry.configValue })), { name: MIN_ISR, value: target }],
      },
    ];
  });
  if (changes.length === 0) return;
  await admin.alterConfigs({ validateOnly: false, resources: changes });
  logger.info({ topics: changes.map((change) => change.name) }, `set ${MIN_ISR}`);
}

/** Registers the value schema of each topic; returns topic name → schema id. */
export async function registerSchemas(serde: AvroSerde, topics: readonly TopicDeclaration[]): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const topic of topics) {
    ids[topic.name] = await serde.register(topic);
  }
  return ids;
}

/** Resolves once every partition of `names` has a leader; metadata errors meanwhile are expected. */
async function waitForLeaders(admin: Admin, names: string[], timeoutMs = 30_000): Promise<void> {
  await pollUntil(
    async () => {
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      const ready = metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      return ready && metadata.topics.length === names.length;
    },
    { what: `leaders of ${names.join(', ')}`, timeoutMs, intervalMs: 100 },
  );
}

/**
 * Everything a deployment provisions for a topology: its topics (with their retry and DLQ topics, at
 * the configured replication factor) and its value schemas. Returns topic name → schema id.
 */
export async function provisionTopology(
  config: KafkaConfig & RegistryConfig,
  logger: Logger,
  topology: Topology,
  clientName = 'provision',
): Promise<Record<string, number>> {
  const admin = createKafka(config, logger, clientName).admin();
  await admin.connect();
  try {
    await provisionTopics(admin, config.topicReplicationFactor, logger, physicalTopics(topology));
  } finally {
    await admin.disconnect();
  }
  return registerSchemas(AvroSerde.connect(config.schemaRegistryUrl), Object.values(topology.topics));
}
