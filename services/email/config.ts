import { z } from 'zod';
import {
  consumerVariables,
  databaseVariables,
  httpVariables,
  kafkaVariables,
  loadConfig,
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
  ...httpVariables,
  ...consumerVariables,
  outboxPollMs: variable('OUTBOX_POLL_MS', positiveInt.default(1000)),
};

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
