import type { Pool } from '../../shared/db.js';
import type { Admin, Kafka } from '../../shared/kafka/client.js';
import type { Logger } from '../../shared/logger.js';
import type { AvroSerde } from '../../shared/registry/serde.js';

/** What every command works with; the CLI builds it from the environment, tests from their stack. */
export interface DlqContext {
  kafka: Kafka;
  /** Connected. */
  admin: Admin;
  serde: AvroSerde;
  logger: Logger;
  /** The database of the operation log, with tools/dlq/schema.sql applied; opened on first use. */
  pool: () => Promise<Pool>;
}
