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

export function stackEnv(source: Record<string, string | undefined> = process.env): StackEnv {
  return {
    KAFKA_BROKERS: source.KAFKA_BROKERS || defaults.KAFKA_BROKERS,
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
