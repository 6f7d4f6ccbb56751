import { z } from 'zod';
import { clientApiVariables } from '../../shared/clients/variables.js';
import { databaseVariables, loadConfig, positiveInt, variable } from '../../shared/config.js';
import { consumerServiceVariables } from '../../shared/kit/variables.js';
import { parseSchedule, svixSchedule } from './retry-schedule.js';
import { parseAllowedNetworks } from './ssrf-guard.js';

/** A zod schema from a parser that throws: its message becomes the variable's problem. */
function parsedWith<T>(parse: (text: string) => T) {
  return z.string().transform((text, context) => {
    try {
      return parse(text);
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  });
}

export const configSpec = {
  ...consumerServiceVariables,
  ...databaseVariables,
  ...clientApiVariables,
  /** Networks private targets may be in (CIDRs, comma-separated); tests and local runs allow loopback. */
  allowedNetworks: variable('WEBHOOK_ALLOWED_NETWORKS', parsedWith(parseAllowedNetworks).default([])),
  /** The delay before each attempt (500ms, 5s, 5m, 2h; the first is the first attempt's). */
  retrySchedule: variable('WEBHOOK_RETRY_SCHEDULE', parsedWith(parseSchedule).default(parseSchedule(svixSchedule))),
  /** One attempt's bound: connect, send, and the whole answer. */
  timeoutMs: variable('WEBHOOK_TIMEOUT_MS', positiveInt.default(15_000)),
  /** The longest Retry-After (429/503) honoured. */
  retryAfterCapMs: variable('WEBHOOK_RETRY_AFTER_CAP_MS', positiveInt.default(3_600_000)),
  /** An endpoint whose every attempt has failed for this long is disabled (5 days). */
  disableAfterMs: variable('WEBHOOK_DISABLE_AFTER_MS', positiveInt.default(5 * 24 * 3600_000)),
  /** Settled deliveries (and their attempts and messages) are kept this long for GET …/deliveries and replays (30 days). */
  retentionMs: variable('WEBHOOK_RETENTION_MS', positiveInt.default(30 * 24 * 3600_000)),
  /** Attempts in flight per endpoint: a slow endpoint holds only its own. */
  perEndpointConcurrency: variable('WEBHOOK_ENDPOINT_CONCURRENCY', positiveInt.default(4)),
  /** Attempts in flight in this process, all endpoints together. */
  concurrency: variable('WEBHOOK_CONCURRENCY', positiveInt.default(64)),
};

export type WebhooksConfig = ReturnType<typeof loadServiceConfig>;

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
