/**
 * The payment provider simulator as a process (npm start, compose): a third party's API, not part
 * of the pipeline; the payments service calls it over HTTP. See simulator.ts for the API and controls.
 *   node dist/services/payment-provider/main.js (after npm run build; npm start runs the source)
 */
import { createLogger } from '../../shared/logger.js';
import { loadServiceConfig } from './config.js';
import { startPaymentProvider } from './simulator.js';

const logger = createLogger('payment-provider');
const config = loadServiceConfig();
const provider = await startPaymentProvider(config.httpPort, config.host);
logger.info({ url: provider.url }, 'payment provider simulator listening');
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void provider.close().then(() => process.exit(0)));
}
