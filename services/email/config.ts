import { z } from 'zod';
import {
  databaseVariables,
  kafkaVariables,
  loadConfig,
  port,
  positiveInt,
  registryVariables,
  smtpVariables,
  variable,
} from '../../shared/config.js';

export const configSpec = {
  ...kafkaVariables,
  ...registryVariables,
  ...databaseVariables,
  ...smtpVariables,
  mailFrom: variable('MAIL_FROM', z.string().min(3).default('Order Pipeline <orders@order-pipeline.local>')),
  host: variable('HOST', z.string().min(1).default('127.0.0.1')),
  /** 0 = any free port (npm start gives each instance its own). */
  httpPort: variable('HTTP_PORT', port.default(0)),
  partitionsConcurrently: variable('PARTITIONS_CONCURRENTLY', positiveInt.default(3)),
  sessionTimeoutMs: variable('SESSION_TIMEOUT_MS', positiveInt.default(30_000)),
  outboxPollMs: variable('OUTBOX_POLL_MS', positiveInt.default(1000)),
};

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
