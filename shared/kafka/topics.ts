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
} as const satisfies Record<string, TopicDeclaration>;

/** The registry subject of a topic's values (TopicNameStrategy). */
export function valueSubject(topic: Pick<TopicDeclaration, 'name'>): string {
  return `${topic.name}-value`;
}

/** A topic as the broker needs it: everything provisioning creates. */
export interface PhysicalTopic {
  name: string;
  partitions: number;
  config: Readonly<Record<string, string>>;
}

export function physicalTopics(): PhysicalTopic[] {
  return Object.values(topics).map((topic) => ({
    name: topic.name,
    partitions: topic.partitions,
    config: topic.config ?? {},
  }));
}
