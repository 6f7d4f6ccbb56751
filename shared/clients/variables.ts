import { z } from 'zod';
import { positiveInt, variable } from '../config.js';

const milliseconds = z.coerce.number({ error: 'expected milliseconds' }).int().min(0);
import { clientIdOf } from './keys.js';

/** What a service whose API serves clients reads (order, exports, webhooks). */
export const clientApiVariables = {
  /** Requests one client may make per window to one instance; generous, so benches are not throttled. */
  rateLimitMax: variable('API_RATE_LIMIT_MAX', positiveInt.default(1_000_000)),
  rateLimitWindowMs: variable('API_RATE_LIMIT_WINDOW_MS', positiveInt.default(60_000)),
  /** A valid key is checked again after this long: a revoked key fails within it (0: every request asks the database). */
  keyCacheMs: variable('API_KEY_CACHE_MS', milliseconds.default(1000)),
  /**
   * Local stacks only (npm start, docker compose, tests): the key of a client named "demo" the
   * service makes sure exists. Unset in production, where clients come from `npm run clients`.
   */
  demoApiKey: variable(
    'DEMO_API_KEY',
    z
      .string()
      .refine((key) => clientIdOf(key) !== undefined, { message: 'expected an API key, opk_<32 hex>_<secret>' })
      .optional(),
    { secret: true },
  ),
};

/** What a service with operator endpoints reads (adminApi). */
export const adminApiVariables = {
  /**
   * The bearer token of the operator endpoints (client management, DLQ replay). Unset: those
   * endpoints refuse everyone. Local stacks set a fixed one, as they do the demo key.
   */
  adminToken: variable('ADMIN_TOKEN', z.string().min(32, { message: 'expected at least 32 characters' }).optional(), { secret: true }),
};
