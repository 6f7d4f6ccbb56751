import { clientApiVariables } from '../../shared/clients/variables.js';
import { databaseVariables, loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { outboxVariables, serviceVariables } from '../../shared/kit/variables.js';
import { taskVariables } from '../../shared/tasks/variables.js';

export const configSpec = { ...serviceVariables, ...databaseVariables, ...outboxVariables, ...taskVariables, ...clientApiVariables };

export type ExportsServiceConfig = ReturnType<typeof loadServiceConfig>;

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  const config = loadConfig(configSpec, source);
  // A heartbeat as long as the lease would let every lease run out between two renewals.
  if (config.taskHeartbeatMs >= config.taskLeaseMs) {
    throw new ConfigError([{ variable: 'TASK_HEARTBEAT_MS', problem: `must be less than TASK_LEASE_MS (${config.taskLeaseMs})` }]);
  }
  return config;
}
