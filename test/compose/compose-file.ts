/**
 * docker-compose.yml as the compose checks read it: parsed like Docker Compose does (YAML merge
 * keys, `${VAR:-default}` interpolation with an empty environment, environment as map or list),
 * with just the fields the checks look at.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { repoRoot } from '../../stack/layout.js';

export const composePath = new URL('../../docker-compose.yml', import.meta.url);

export interface ComposeHealthcheck {
  test: string[];
}

export interface ComposeDependency {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
}

export interface ComposeService {
  name: string;
  image?: string;
  build?: unknown;
  command: string[];
  environment: Record<string, string>;
  ports: string[];
  containerName?: string;
  healthcheck?: ComposeHealthcheck;
  dependsOn: Record<string, ComposeDependency>;
  /** `restart`, when set (Compose's default is "no"). */
  restart?: string;
  /** Profiles that enable the service; none means it always runs. */
  profiles: string[];
  /** Mounts in short syntax `source:target[:mode]` or long syntax, as source and target. */
  volumes: Array<{ source?: string; target: string }>;
}

/** The raw document, after YAML merge keys are applied: what the schema validates. */
export function readComposeDocument(): unknown {
  return parse(readFileSync(composePath, 'utf8'), { merge: true });
}

/** `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$$`, as Compose resolves them. */
export function interpolate(value: string, env: Record<string, string | undefined> = {}): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (match, name?: string, op?: string, fallback?: string) => {
    if (match === '$$') return '$';
    const set = name ? env[name] : undefined;
    if (op === ':-') return set ? set : (fallback ?? '');
    if (op === '-') return set ?? fallback ?? '';
    return set ?? '';
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalar(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

function environmentOf(raw: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const [name, ...rest] = String(entry).split('=');
      if (name) env[name] = interpolate(rest.join('='));
    }
  } else if (isRecord(raw)) {
    for (const [name, value] of Object.entries(raw)) env[name] = interpolate(scalar(value));
  }
  return env;
}

function commandOf(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map((part) => interpolate(scalar(part)));
  // A string command goes through a shell in Compose; the checks want exec form only.
  return raw === undefined ? [] : ['sh', '-c', interpolate(scalar(raw))];
}

function dependsOnOf(raw: unknown): Record<string, ComposeDependency> {
  if (Array.isArray(raw)) return Object.fromEntries(raw.map((name) => [String(name), { condition: 'service_started' as const }]));
  if (!isRecord(raw)) return {};
  return Object.fromEntries(
    Object.entries(raw).map(([name, value]) => [
      name,
      { condition: (isRecord(value) ? value.condition : undefined) ?? 'service_started' } as ComposeDependency,
    ]),
  );
}

function healthcheckOf(raw: unknown): ComposeHealthcheck | undefined {
  if (!isRecord(raw) || raw.disable === true) return undefined;
  const test = raw.test;
  if (typeof test === 'string') return { test: ['CMD-SHELL', test] };
  return Array.isArray(test) ? { test: test.map(scalar) } : undefined;
}

function volumesOf(raw: unknown): Array<{ source?: string; target: string }> {
  if (!Array.isArray(raw)) return [];
  return raw.map((entry) => {
    if (isRecord(entry)) return { source: entry.source === undefined ? undefined : scalar(entry.source), target: scalar(entry.target) };
    const parts = interpolate(scalar(entry)).split(':');
    return parts.length === 1 ? { target: parts[0]! } : { source: parts[0], target: parts[1]! };
  });
}

/** The top-level `volumes` names (named volumes Compose manages). */
export function namedVolumes(): Set<string> {
  const document = readComposeDocument();
  return new Set(isRecord(document) && isRecord(document.volumes) ? Object.keys(document.volumes) : []);
}

export function readCompose(): Map<string, ComposeService> {
  const document = readComposeDocument();
  if (!isRecord(document) || !isRecord(document.services)) throw new Error('docker-compose.yml has no services');
  const services = new Map<string, ComposeService>();
  for (const [name, raw] of Object.entries(document.services)) {
    if (!isRecord(raw)) continue;
    services.set(name, {
      name,
      image: typeof raw.image === 'string' ? raw.image : undefined,
      build: raw.build,
      command: commandOf(raw.command),
      environment: environmentOf(raw.environment),
      ports: Array.isArray(raw.ports) ? raw.ports.map(scalar) : [],
      containerName: typeof raw.container_name === 'string' ? raw.container_name : undefined,
      healthcheck: healthcheckOf(raw.healthcheck),
      dependsOn: dependsOnOf(raw.depends_on),
      restart: raw.restart === undefined ? undefined : scalar(raw.restart),
      profiles: Array.isArray(raw.profiles) ? raw.profiles.map(scalar) : [],
      volumes: volumesOf(raw.volumes),
    });
  }
  return services;
}

/** `[ip:]host:container[/proto]` → the host and container ports of a short-syntax port. */
export function publishedPort(spec: string): { host: number; container: number } | undefined {
  const match = /^(?:[\d.]+:)?(\d+):(\d+)(?:\/\w+)?$/.exec(spec);
  return match ? { host: Number(match[1]), container: Number(match[2]) } : undefined;
}

export { repoRoot };
