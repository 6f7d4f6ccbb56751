import type { AvroSerde } from '../registry/serde.js';
import type { Logger } from '../logger.js';
import { pollUntil } from '../retry/poll-until.js';
import type { Admin } from './client.js';
import type { PhysicalTopic, TopicDeclaration } from './topology.js';

/**
 * Creates every declared topic that is missing and raises partition counts that are below the
 * declaration (Kafka cannot lower them). Safe to run any number of times, from any number of processes.
 */
export async function provisionTopics(
  admin: Admin,
  replicationFactor: number,
  logger: Logger,
  declared: readonly PhysicalTopic[],
): Promise<string[]> {
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
        configEntries: Object.entries(topic.config).map(([name, value]) => ({ name, value })),
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
  const created = missing.map((topic) => topic.name);
  logger.info({ created, total: declared.length }, 'topics provisioned');
  return created;
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
