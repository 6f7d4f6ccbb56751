import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { localStackAddresses } from '../shared/local-stack-addresses.js';

/**
 * Where the local stack keeps its jars, data, logs and pid files, and the addresses it serves.
 * The addresses come from the same variables the services read, so a second stack on other ports
 * (e.g. for parallel test runs) is just a different environment.
 */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export const defaults = localStackAddresses;

export type StackEnv = { -readonly [K in keyof typeof defaults]: string };

/**
 * The HTTP API of the mail sink (Mailpit's in compose). Not part of StackEnv: services only send
 * mail; tests and people read it here.
 */
export function mailSinkUrl(source: Record<string, string | undefined> = process.env): string {
  return source.MAIL_SINK_URL || 'http://127.0.0.1:8025';
}

/** How many Kafka brokers the stack runs: KAFKA_BROKERS_COUNT (`--brokers n`), 1 by default. */
export function brokerCount(source: Record<string, string | undefined> = process.env): number {
  const raw = source.KAFKA_BROKERS_COUNT || '1';
  const count = Number(raw);
  if (!Number.isSafeInteger(count) || count < 1 || count > 9) throw new Error(`KAFKA_BROKERS_COUNT=${raw}: expected 1 to 9`);
  return count;
}

/**
 * The broker addresses: with several brokers and one address given (or none), the others follow
 * it two ports apart (9092, 9094, 9096: each broker's controller listens on its port + 1).
 */
function brokerAddresses(source: Record<string, string | undefined>): string {
  const count = brokerCount(source);
  // One broker: the variable as it is, as before several brokers were possible.
  if (count === 1) return source.KAFKA_BROKERS || defaults.KAFKA_BROKERS;
  const given = (source.KAFKA_BROKERS || defaults.KAFKA_BROKERS).split(',').map((address) => address.trim());
  if (given.length === count) return given.join(',');
  if (given.length !== 1) throw new Error(`KAFKA_BROKERS names ${given.length} brokers, KAFKA_BROKERS_COUNT ${count}`);
  const { host, port } = hostPort(given[0]!);
  return Array.from({ length: count }, (_, i) => `${host}:${port + 2 * i}`).join(',');
}

export function stackEnv(source: Record<string, string | undefined> = process.env): StackEnv {
  return {
    KAFKA_BROKERS: brokerAddresses(source),
    SCHEMA_REGISTRY_URL: source.SCHEMA_REGISTRY_URL || defaults.SCHEMA_REGISTRY_URL,
    DATABASE_URL: source.DATABASE_URL || defaults.DATABASE_URL,
    SMTP_URL: source.SMTP_URL || defaults.SMTP_URL,
  };
}

export interface Layout {
  root: string;
  kafkaLib: string;
  apicurioLib: string;
  data: string;
  logs: string;
  run: string;
}

export function layout(root = process.env.STACK_DIR || path.join(repoRoot, '.stack')): Layout {
  const absolute = path.resolve(root);
  return {
    root: absolute,
    kafkaLib: path.join(absolute, 'lib', 'kafka'),
    apicurioLib: path.join(absolute, 'lib', 'apicurio'),
    data: path.join(absolute, 'data'),
    logs: path.join(absolute, 'logs'),
    run: path.join(absolute, 'run'),
  };
}

export function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
}
