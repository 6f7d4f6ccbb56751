import {
  consumerVariables,
  databaseVariables,
  httpVariables,
  kafkaVariables,
  loadConfig,
  positiveInt,
  registryVariables,
  variable,
} from '../../shared/config.js';

export const configSpec = {
  ...kafkaVariables,
  ...registryVariables,
  ...databaseVariables,
  ...httpVariables,
  ...consumerVariables,
  outboxPollMs: variable('OUTBOX_POLL_MS', positiveInt.default(1000)),
};

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
