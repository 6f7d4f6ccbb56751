import { z } from 'zod';
import { loadConfig, port, positiveInt, variable } from '../../shared/config.js';
import { adminApiVariables, clientApiVariables } from '../../shared/clients/variables.js';
import { outboxServiceVariables } from '../../shared/kit/variables.js';

export const configSpec = {
  ...outboxServiceVariables,
  ...clientApiVariables,
  ...adminApiVariables,
  /** The API's port; PORT, its older name, still works. */
  httpPort: variable('HTTP_PORT', port.default(3000), { aliases: ['PORT'] }),
  /** Larger request bodies get 413; 16 KiB holds an order of 100 lines with room to spare. */
  bodyLimitBytes: variable('BODY_LIMIT_BYTES', positiveInt.default(16 * 1024)),
  databasePoolSize: variable('DATABASE_POOL_SIZE', positiveInt.default(10)),
  /** How long a currency's price list is reused; 0 reads the catalogue for every order. */
  /** The workflow's reservation step: no answer from inventory this long, and the authorization is voided (REJECTED, reason timeout). ORDER_PENDING_TIMEOUT_MS, its older name, still works. */
  reservationTimeoutMs: variable('ORDER_RESERVATION_TIMEOUT_MS', positiveInt.default(5 * 60_000), { aliases: ['ORDER_PENDING_TIMEOUT_MS'] }),
  /** The authorization step's timeout (the article's 30 s); it re-sends the authorization (same idempotency key) until the attempts are spent. */
  paymentAuthorizationTimeoutMs: variable('PAYMENT_AUTHORIZATION_TIMEOUT_MS', positiveInt.default(30_000)),
  /** Authorization attempts before the order ends REJECTED with reason payment_timeout. */
  paymentAuthorizationAttempts: variable('PAYMENT_AUTHORIZATION_ATTEMPTS', positiveInt.default(2)),
  /** Capture, void, refund and release: each is sent again after this long without an answer, until answered. */
  paymentStepTimeoutMs: variable('PAYMENT_STEP_TIMEOUT_MS', positiveInt.default(30_000)),
  /** The follow-up mail ("How was your order?") goes this long after the order was confirmed. */
  followUpDelayMs: variable('FOLLOWUP_DELAY_MS', positiveInt.default(24 * 3600_000)),
  /** POST /availability waits this long for the inventory's reply before answering 202 (?timeoutMs= up to REQUEST_MAX_TIMEOUT_MS). */
  requestTimeoutMs: variable('REQUEST_TIMEOUT_MS', positiveInt.default(2000)),
  requestMaxTimeoutMs: variable('REQUEST_MAX_TIMEOUT_MS', positiveInt.default(30_000)),
  /** A request is worth answering this long after it was sent: its late reply is stored until then. */
  requestDeadlineMs: variable('REQUEST_DEADLINE_MS', positiveInt.default(60_000)),
  /** Requests waiting for replies at once; one more gets 503 with Retry-After. */
  requestMaxInFlight: variable('REQUEST_MAX_IN_FLIGHT', positiveInt.default(1000)),
  /** Tests only (the crash-at-every-step suite): SIGKILL right after a transition into these states commits (e.g. RESERVED,CONFIRMED). */
  crashAfterTransition: variable(
    'ORDER_CRASH_AFTER_TRANSITION',
    z
      .string()
      .default('')
      .transform((list) => list.split(',').map((state) => state.trim().toUpperCase()).filter((state) => state.length > 0)),
  ),
  catalogueCacheMs: variable('CATALOGUE_CACHE_MS', z.coerce.number({ error: 'expected milliseconds' }).int().min(0).default(5000)),
};

export type OrderServiceConfig = ReturnType<typeof loadServiceConfig>;

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
