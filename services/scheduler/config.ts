import { databaseVariables, loadConfig } from '../../shared/config.js';
import { outboxVariables, serviceVariables } from '../../shared/kit/variables.js';
import { schedulerVariables } from '../../shared/scheduler/variables.js';

export const configSpec = { ...serviceVariables, ...databaseVariables, ...outboxVariables, ...schedulerVariables };

export type SchedulerServiceConfig = ReturnType<typeof loadServiceConfig>;

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
