import { loadConfig, port, variable } from '../../shared/config.js';
import { httpVariables } from '../../shared/config.js';

export const configSpec = {
  ...httpVariables,
  /** The simulator's port; 4010 locally (PAYMENT_PROVIDER_URL of the payments service points here). */
  httpPort: variable('HTTP_PORT', port.default(4010)),
};

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
