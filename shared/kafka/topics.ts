import { schemas, type SchemaDeclaration } from '../schemas/catalog.js';

/**
 * Every topic of the pipeline is declared here, once: its name, partitions, broker-side config and
 * the Avro schema its values carry. Code refers to topics through this module; a topic name typed
 * anywhere else is a bug.
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

const sevenDays = String(7 * 24 * 60 * 60 * 1000);

export const topics = {
  orderCreated: {
    name: 'order.created',
    partitions: 6,
    key: 'order id',
    schema: schemas.OrderCreated,
    config: { 'retention.ms': sevenDays },
  },
  analyticsEvents: {
    name: 'analytics.events',
    partitions: 6,
    key: 'order id',
    schema: schemas.AnalyticsEvent,
    config: { 'retention.ms': sevenDays },
  },
  orderCancelled: {
    name: 'order.cancelled',
    partitions: 6,
    key: 'order id',
    schema: schemas.OrderCancelled,
    config: { 'retention.ms': sevenDays },
  },
  inventoryReserved: {
    name: 'inventory.reserved',
    partitions: 6,
    key: 'order id',
    schema: schemas.InventoryReserved,
    config: { 'retention.ms': sevenDays },
  },
  inventoryRejected: {
    name: 'inventory.rejected',
    partitions: 6,
    key: 'order id',
    schema: schemas.InventoryRejected,
    config: { 'retention.ms': sevenDays },
  },
  inventoryReleased: {
    name: 'inventory.released',
    partitions: 6,
    key: 'order id',
    schema: schemas.InventoryReleased,
    config: { 'retention.ms': sevenDays },
  },
  orderSteps: {
    name: 'order.steps',
    partitions: 6,
    key: 'order id',
    schema: schemas.OrderStep,
    config: { 'retention.ms': sevenDays },
  },
} as const satisfies Record<string, TopicDeclaration>;

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

export const consumerGroups = {
  // order.cancelled shares the order id key with order.created, so ordered retries keep an order's
  // release behind its reservation.
  inventory: { groupId: 'inventory-service', topics: [topics.orderCreated, topics.orderCancelled], orderedRetries: true },
  // The order service's side of the saga: inventory outcomes move an order's status, steps feed GET /orders/:id.
  orderService: {
    groupId: 'order-service',
    topics: [topics.inventoryReserved, topics.inventoryRejected, topics.inventoryReleased, topics.orderSteps],
  },
  email: { groupId: 'email-service', topics: [topics.orderCreated] },
  analytics: { groupId: 'analytics-service', topics: [topics.orderCreated] },
  // Only rows rejected for their data reach its retry tiers (an outage pauses consumption instead),
  // so a short ladder: 1, 2, 4 s, then the DLQ.
  batchIngestion: { groupId: 'batch-ingestion', topics: [topics.analyticsEvents], retry: { attempts: 4 } },
} as const satisfies Record<string, ConsumerGroupDeclaration>;

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

export function physicalTopics(groups: readonly ConsumerGroupDeclaration[] = Object.values(consumerGroups)): PhysicalTopic[] {
  return [
    ...Object.values(topics).map((topic) => ({
      name: topic.name,
      partitions: topic.partitions,
      config: topic.config ?? {},
    })),
    ...groups.flatMap(failureTopics),
  ];
}
