/**
 * What the code says the compose file must contain: the services `npm start` runs, the variables
 * each service's configSpec reads, the variables shared code reads straight from the environment,
 * and where each part of the local stack lives in compose.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Variable } from '../../shared/config.js';
import type { StackEnv } from '../../stack/layout.js';
import { repoRoot } from '../../stack/layout.js';

/**
 * Each address variable of the local stack (stack/layout.ts) and the compose service behind it. Keyed
 * by StackEnv, so a new part of the local stack does not type-check until compose has it too.
 */
export const infrastructure: Record<keyof StackEnv, { service: string; address: string }> = {
  KAFKA_BROKERS: { service: 'kafka', address: 'kafka:9092' },
  SCHEMA_REGISTRY_URL: { service: 'schema-registry', address: 'http://schema-registry:8081' },
  DATABASE_URL: { service: 'postgres', address: 'postgres://postgres:postgres@postgres:5432/order_pipeline' },
  SMTP_URL: { service: 'mail', address: 'smtp://mail:1025' },
};

/** The compose service that provisions topics and schemas, and the command it must run. */
export const initService = { name: 'init', entry: 'scripts/provision.ts' };

/**
 * Where `npm run build` puts an entry's JavaScript (tsconfig.build.json: rootDir `.`, outDir `dist`):
 * production runs that, not the TypeScript source.
 */
export function builtEntry(entry: string): string {
  return path.posix.join('dist', entry.replace(/\.ts$/, '.js'));
}

/** The TypeScript source of a built entry (the inverse of builtEntry). */
export function sourceEntry(built: string): string {
  return built.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

/** The command compose runs for an entry: the built JavaScript on plain node, no TypeScript loader. */
export function nodeCommand(entry: string): string[] {
  return ['node', builtEntry(entry)];
}

/**
 * The data each stateful part keeps, and where its image keeps it: these live on named volumes, so
 * `docker compose down` keeps them and `down -v` drops them.
 */
export const dataMounts: Record<string, string> = {
  kafka: '/var/lib/kafka/data',
  postgres: '/var/lib/postgresql',
  mail: '/data',
};

export type ConfigSpec = Record<string, Variable<unknown>>;

function isVariable(value: unknown): value is Variable<unknown> {
  return typeof value === 'object' && value !== null && 'env' in value && 'schema' in value;
}

/** services/<name>/config.ts's `configSpec`, or undefined when the service has not landed. */
export async function configSpecOf(service: string): Promise<ConfigSpec | undefined> {
  const file = path.join(repoRoot, 'services', service, 'config.ts');
  if (!existsSync(file)) return undefined;
  const module = (await import(pathToFileURL(file).href)) as { configSpec?: unknown };
  const spec = module.configSpec;
  if (typeof spec !== 'object' || spec === null) throw new Error(`services/${service}/config.ts exports no configSpec`);
  const entries = Object.entries(spec);
  const bad = entries.filter(([, value]) => !isVariable(value)).map(([key]) => key);
  if (bad.length > 0) throw new Error(`services/${service}/config.ts configSpec: ${bad.join(', ')} are not variable() specs`);
  return Object.fromEntries(entries) as ConfigSpec;
}

/** A variable is required when its schema rejects "unset" (loadConfig passes undefined then). */
export function isRequired(variable: Variable<unknown>): boolean {
  return !variable.schema.safeParse(undefined).success;
}

function typeScriptFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(dir, file));
}

/**
 * Variables read straight from process.env (outside configSpec) by the shared library and, given a
 * service, its own folder, e.g. LOG_LEVEL and INSTANCE_ID in shared/logger.ts.
 */
export function processVariables(service?: string): Set<string> {
  const names = new Set<string>();
  const own = service ? typeScriptFiles(path.join(repoRoot, 'services', service)) : [];
  for (const file of [...typeScriptFiles(path.join(repoRoot, 'shared')), ...own]) {
    for (const match of readFileSync(file, 'utf8').matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g)) {
      names.add((match[1] ?? match[2])!);
    }
  }
  return names;
}
