import type { Scenario } from '../run.js';
import { brokerLoss } from './broker-loss.js';
import { brokerRestart } from './broker-restart.js';
import { consumerKills } from './consumer-kills.js';
import { orderServiceKill } from './order-service-kill.js';
import { postgresOutage } from './postgres-outage.js';

/** Every scenario of `npm run chaos`, by the id CHAOS_SCENARIOS selects them with. */
export function allScenarios(outageSeconds: number): Record<string, Scenario> {
  return {
    'consumer-kills': consumerKills(),
    'order-kill': orderServiceKill,
    'broker-sigterm': brokerRestart('SIGTERM'),
    'broker-sigkill': brokerRestart('SIGKILL'),
    'postgres-outage': postgresOutage(outageSeconds),
    'broker-loss': brokerLoss(),
  };
}
