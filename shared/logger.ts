import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Identifies one running process of a service: in logs, DLQ headers and Kafka client ids. */
export const instanceId = process.env.INSTANCE_ID ?? `${hostname()}-${process.pid}`;

/**
 * Personal data and secrets never reach the logs: these paths are censored wherever they appear
 * in a logged object (one level deep, which covers events and their envelopes).
 */
const redactedPaths = ['email', '*.email', 'password', '*.password', 'authorization', '*.authorization'];

export function createLogger(service: string): Logger {
  return pino({
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service, instance: instanceId },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
