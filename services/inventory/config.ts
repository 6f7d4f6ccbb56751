import { loadConfig } from '../../shared/config.js';
import { outboxServiceVariables } from '../../shared/kit/variables.js';

export const configSpec = outboxServiceVariables;

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
