import { loadConfig } from '../../shared/config.js';
import { consumerServiceVariables } from '../../shared/kit/variables.js';

export const configSpec = consumerServiceVariables;

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
