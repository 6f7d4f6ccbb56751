import { z } from 'zod';
import { httpUrl, loadConfig, positiveInt, variable } from '../../shared/config.js';
import { outboxServiceVariables } from '../../shared/kit/variables.js';

export const configSpec = {
  ...outboxServiceVariables,
  /** The payment provider's API (locally the simulator, stack/payment-provider.ts). */
  paymentProviderUrl: variable('PAYMENT_PROVIDER_URL', httpUrl.default('http://127.0.0.1:4010')),
  /** A provider call without an answer this long is abandoned and retried with the same idempotency key. */
  paymentProviderTimeoutMs: variable('PAYMENT_PROVIDER_TIMEOUT_MS', positiveInt.default(10_000)),
  /** Tests only (the crash-at-every-step suite): SIGKILL right after the provider answers these actions (e.g. AUTHORIZE,CAPTURE). */
  crashAfterProviderCall: variable(
    'PAYMENTS_CRASH_AFTER_PROVIDER_CALL',
    z
      .string()
      .default('')
      .transform((list) => list.split(',').map((action) => action.trim().toUpperCase()).filter((action) => action.length > 0)),
  ),
};

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
