import type { Pool } from '../db.js';
import { PermanentError, type ErrorCode } from '../errors.js';
import type { KafkaClient } from '../kafka/port.js';
import type { ConsumerGroupDeclaration } from '../kafka/topology.js';
import type { Logger } from '../logger.js';
import type { Outbox } from '../outbox/outbox.js';
import type { AvroSerde } from '../registry/serde.js';
import type { GracefulShutdown } from '../shutdown.js';
import type { Database } from './database.js';
import { handleOnceFor, type HandleOnce } from './handle-once.js';

/** A service definition asks for a part it did not declare (e.g. the outbox without a table). */
export class ServiceDefinitionError extends PermanentError {
  override readonly code: string = 'SERVICE_DEFINITION' satisfies ErrorCode;
}

/** What a service's own code is given. pool, outbox and handleOnce throw when the service declared no database/outbox. */
export interface ServiceParts<C> {
  readonly config: C;
  readonly logger: Logger;
  readonly shutdown: GracefulShutdown;
  /** The Kafka client behind the runtime's port: `kafka.publisher()` for a service's own sends. */
  readonly kafka: KafkaClient;
  readonly serde: AvroSerde;
  readonly pool: Pool;
  readonly outbox: Outbox;
  /** Claims an event once for the service's group inside the effect's transaction. */
  readonly handleOnce: HandleOnce;
}

/** What a handler needs for an effect that happens once and answers through the outbox. */
export type Effects = Pick<ServiceParts<unknown>, 'handleOnce' | 'outbox'>;

/** The parts; pool, outbox and handleOnce are checked on first use, so a service only pays for what it declared. */
export function serviceParts<C>(
  base: Pick<ServiceParts<C>, 'config' | 'logger' | 'shutdown' | 'kafka' | 'serde'>,
  /** Without one (a service that consumes nothing) there is no handleOnce. */
  group: ConsumerGroupDeclaration | undefined,
  database: Database | undefined,
): ServiceParts<C> {
  const missing = (what: string) => new ServiceDefinitionError(`the service declares no ${what}`);
  const handleOnce = database && group && handleOnceFor(database.pool, group);
  return {
    ...base,
    get pool() {
      if (!database) throw missing('database');
      return database.pool;
    },
    get outbox() {
      if (!database?.outbox) throw missing('outbox (database.outbox)');
      return database.outbox;
    },
    get handleOnce() {
      if (!handleOnce || !database?.consumerRuntime) throw missing('database with the consumer runtime tables');
      return handleOnce;
    },
  };
}
