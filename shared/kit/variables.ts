import {
  consumerVariables,
  databaseVariables,
  httpVariables,
  kafkaVariables,
  positiveInt,
  registryVariables,
  variable,
  type ConfigOf,
} from '../config.js';

/** What every service reads: Kafka, the schema registry and its HTTP side. */
export const serviceVariables = { ...kafkaVariables, ...registryVariables, ...httpVariables };

/** A service with a consumer group member. */
export const consumerServiceVariables = { ...serviceVariables, ...consumerVariables };

export const outboxVariables = {
  /** The relay's safety-net poll; a commit that appends rows wakes it at once. */
  outboxPollMs: variable('OUTBOX_POLL_MS', positiveInt.default(1000)),
};

/** A consumer whose effects and answers commit in its own database (handleOnce + Outbox). */
export const outboxServiceVariables = { ...consumerServiceVariables, ...databaseVariables, ...outboxVariables };

/** The configuration the kit reads; a service's own variables come on top. */
export type KitConfig = ConfigOf<typeof serviceVariables> &
  Partial<ConfigOf<typeof consumerVariables> & ConfigOf<typeof databaseVariables> & ConfigOf<typeof outboxVariables>>;
