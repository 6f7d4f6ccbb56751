import {
  consumerVariables,
  httpVariables,
  kafkaVariables,
  loadConfig,
  registryVariables,
} from '../../shared/config.js';

export const configSpec = {
  ...kafkaVariables,
  ...registryVariables,
  ...httpVariables,
  ...consumerVariables,
};

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
