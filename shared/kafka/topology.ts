import type { SchemaDeclaration } from '../registry/schema.js';

/**
 * The shapes a domain contract (shared/contracts) declares its topics and consumer groups in, and
 * the names derived from them (retry tiers, DLQs, registry subjects). Domain-free: the platform
 * receives the declarations it works on, it never imports them.
 */
export interface TopicDeclaration<T = unknown> {
  readonly name: string;
  /** Upper bound on the useful members of one consumer group. Raising it later re-maps keys. */
  readonly partitions: number;
  /** What the message key holds; it decides per-key ordering. */
  readonly key: string;
  readonly schema: SchemaDeclaration<T>;
  readonly config?: Readonly<Record<string, string>>;
}

/** How a topic is declared: its schema and, where they differ from the defaults, the rest. */
export interface TopicOptions {
  /** @defaultValue 6 */
  readonly partitions?: number;
  /** @defaultValue 'order id' */
  readonly key?: string;
  /** @defaultValue 7 days' retention */
  readonly config?: Readonly<Record<string, string>>;
}

const sevenDays = String(7 * 24 * 60 * 60 * 1000);

/** A topic declaration with the pipeline's defaults, so a contract states only what differs. */
export function declareTopic<T>(name: string, schema: SchemaDeclaration<T>, options: TopicOptions = {}): TopicDeclaration<T> {
  return {
    name,
    partitions: options.partitions ?? 6,
    key: options.key ?? 'order id',
    schema,
    config: options.config ?? { 'retention.ms': sevenDays },
  };
}

/** The registry subject of a topic's values (TopicNameStrategy). */
export function valueSubject(topic: Pick<TopicDeclaration, 'name'>): string {
  return `${topic.name}-value`;
}

/**
 * A consumer group and what it reads. Each group gets its own retry topics (one per delay tier)
 * and its own DLQ for every source topic, so one group's failures never reach another group.
 */
export interface ConsumerGroupDeclaration {
  readonly groupId: string;
  readonly topics: readonly TopicDeclaration[];
  /**
   * While a key has a message in the retry path, later messages with that key follow it there
   * instead of overtaking it; other keys keep flowing.
   * @defaultValue false
   */
  readonly orderedRetries?: boolean;
  readonly retry?: RetryPolicy;
}

export interface RetryPolicy {
  /**
   * Deliveries in all, the first included, before a message goes to the DLQ. There is one retry
   * topic (delay tier) per retry: attempts - 1 tiers. The default rides out about a minute of a
   * dependency being down (1 + 2 + 4 + 8 + 16 + 32 s) before anything is dead-lettered.
   * @defaultValue 7
   */
  readonly attempts?: number;
  /**
   * Delay before retry n is min(baseDelayMs * 2^(n-1), maxDelayMs), minus up to jitterRatio of it.
   * @defaultValue 1000
   */
  readonly baseDelayMs?: number;
  /** @defaultValue 60000 */
  readonly maxDelayMs?: number;
  /** @defaultValue 0.2 */
  readonly jitterRatio?: number;
}

export const defaultRetryPolicy: Required<RetryPolicy> = {
  attempts: 7,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  jitterRatio: 0.2,
};

export function retryPolicyOf(group: ConsumerGroupDeclaration): Required<RetryPolicy> {
  return { ...defaultRetryPolicy, ...group.retry };
}

/** `<topic>.<group>.retry.<tier>`, tiers counted from 1. */
export function retryTopicName(topic: Pick<TopicDeclaration, 'name'>, groupId: string, tier: number): string {
  return `${topic.name}.${groupId}.retry.${tier}`;
}

/** `<topic>.<group>.dlq` */
export function dlqTopicName(topic: Pick<TopicDeclaration, 'name'>, groupId: string): string {
  return `${topic.name}.${groupId}.dlq`;
}

/** A topic as the broker needs it: everything provisioning creates. */
export interface PhysicalTopic {
  name: string;
  partitions: number;
  config: Readonly<Record<string, string>>;
}

/** The retry and DLQ topics of one group, each with the partitions of its source topic. */
export function failureTopics(group: ConsumerGroupDeclaration): PhysicalTopic[] {
  const tiers = retryPolicyOf(group).attempts - 1;
  return group.topics.flatMap((topic) => [
    ...Array.from({ length: tiers }, (_, i) => ({
      name: retryTopicName(topic, group.groupId, i + 1),
      partitions: topic.partitions,
      config: topic.config ?? {},
    })),
    // Dead letters wait for a person: kept a month.
    { name: dlqTopicName(topic, group.groupId), partitions: topic.partitions, config: { 'retention.ms': String(30 * 24 * 3600 * 1000) } },
  ]);
}

/** Every topic and consumer group of a pipeline: what provisioning, the relay and the DLQ tools work on. */
export interface Topology {
  readonly topics: Readonly<Record<string, TopicDeclaration>>;
  readonly groups: Readonly<Record<string, ConsumerGroupDeclaration>>;
}

/** Finds a declared topic by its name (the outbox stores names). */
export type TopicLookup = (name: string) => TopicDeclaration | undefined;

export function topicLookup(topology: Pick<Topology, 'topics'>): TopicLookup {
  const byName = new Map<string, TopicDeclaration>(Object.values(topology.topics).map((topic) => [topic.name, topic]));
  return (name) => byName.get(name);
}

export function physicalTopics(topology: Topology): PhysicalTopic[] {
  return [
    ...Object.values(topology.topics).map((topic) => ({
      name: topic.name,
      partitions: topic.partitions,
      config: topic.config ?? {},
    })),
    ...Object.values(topology.groups).flatMap(failureTopics),
  ];
}
