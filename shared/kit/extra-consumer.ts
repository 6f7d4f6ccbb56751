import { ConsumerRuntime } from '../consumer/consumer-runtime.js';
import type { Pool } from '../db.js';
import type { ConsumerGroupDeclaration } from '../kafka/topology.js';
import { BackgroundConsumer } from './background-consumer.js';
import type { RuntimeTuning } from './consumer-service.js';
import type { ServiceParts } from './service-parts.js';
import type { KitConfig } from './variables.js';

export interface ExtraConsumerOptions {
  /** The runtime's pool (ordered retries, pruning its claims). @defaultValue none */
  pool?: Pool;
  tuning?: RuntimeTuning;
  /** @defaultValue 5000 */
  stopBoundMs?: number;
}

/**
 * A second consumer group in a service's process (e.g. a replier beside the service's own group):
 * registered by `register`, started in the background (retrying while Kafka is away) and stopped on
 * shutdown before the parts registered earlier. The service's readiness stays its main group's.
 */
export function startExtraConsumer<C extends KitConfig>(
  parts: ServiceParts<C>,
  group: ConsumerGroupDeclaration,
  register: (runtime: ConsumerRuntime) => void,
  options: ExtraConsumerOptions = {},
): ConsumerRuntime {
  const stopBoundMs = options.stopBoundMs ?? 5000;
  const runtime = new ConsumerRuntime({
    client: parts.kafka,
    serde: parts.serde,
    logger: parts.logger,
    group,
    pool: options.pool,
    partitionsConsumedConcurrently: parts.config.partitionsConcurrently,
    sessionTimeoutMs: parts.config.sessionTimeoutMs,
    stopTimeoutMs: stopBoundMs - 500,
    ...options.tuning,
  });
  register(runtime);
  const consumer = new BackgroundConsumer(runtime, parts.logger);
  parts.shutdown.add(`consumer ${group.groupId}`, () => consumer.stop(), stopBoundMs);
  consumer.start();
  return runtime;
}
