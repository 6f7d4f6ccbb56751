import { z } from 'zod';
import { databaseVariables, httpUrl, loadConfig, positiveInt, variable } from '../../shared/config.js';
import { adminApiVariables } from '../../shared/clients/variables.js';
import { serviceVariables } from '../../shared/kit/variables.js';

const groupList = z
  .string()
  .transform((value) => value.split(',').map((group) => group.trim()).filter((group) => group !== ''))
  .optional();

export const dashboardVariables = {
  /** One poll of the cluster's offsets serves every open page. */
  pollMs: variable('DASHBOARD_POLL_MS', positiveInt.default(5000)),
  /**
   * Consumer groups to watch besides the declared ones (ad-hoc groups, the request-reply groups of
   * other instances); comma-separated.
   */
  extraGroups: variable('DASHBOARD_EXTRA_GROUPS', groupList),
  /** The batch-ingestion service's /metrics, for its panel; unset: the panel says it has no source. */
  batchMetricsUrl: variable('DASHBOARD_BATCH_METRICS_URL', httpUrl.optional()),
};

export const configSpec = { ...serviceVariables, ...databaseVariables, ...adminApiVariables, ...dashboardVariables };

export type DashboardConfig = ReturnType<typeof loadServiceConfig>;

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
