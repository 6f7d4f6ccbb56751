import type { Pool } from '../db.js';
import type { Admin, Kafka } from '../kafka/client.js';
import type { Logger } from '../logger.js';
import type { AvroSerde } from '../registry/serde.js';

/**
 * What every DLQ operation works with; the caller builds it (the CLI from the environment, a
 * dashboard from its service, tests from their stack). Which DLQs exist comes from the topology the
 * caller passes to resolveTargets.
 */
export interface DlqContext {
  kafka: Kafka;
  /** Connected (createAdmin in shared/kafka/tooling-clients.ts). */
  admin: Admin;
  serde: AvroSerde;
  logger: Logger;
  /**
   * The database of the operation log, with dlqOperationsSql (operation-log.ts) applied. Called only
   * by replay and purge, so list and show work without a database.
   */
  pool: () => Promise<Pool>;
}
