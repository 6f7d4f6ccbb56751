import { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors.js';

/** One configuration value: the environment variable it comes from and how to validate it. */
export interface Variable<T> {
  env: string;
  schema: z.ZodType<T>;
  /** Older names still read when `env` is unset (e.g. PORT for HTTP_PORT). */
  aliases?: readonly string[];
  /**
   * The value may hold a credential (a password, a URL with user info): an error names the variable
   * but never shows its value.
   * @defaultValue false
   */
  secret?: boolean;
}

export interface VariableOptions {
  aliases?: readonly string[];
  /** @defaultValue false */
  secret?: boolean;
}

export function variable<T>(env: string, schema: z.ZodType<T>, options: VariableOptions = {}): Variable<T> {
  return {
    env,
    schema,
    ...(options.aliases ? { aliases: options.aliases } : {}),
    ...(options.secret ? { secret: true } : {}),
  };
}

/**
 * Whether an error may quote a variable's value. Never for a secret variable; and never for a
 * value shaped like a URL or holding an `@`, whatever the variable: a malformed URL (say a password
 * with an unencoded `#`) cannot be parsed, so its credentials cannot be cut out reliably either.
 */
export function mayEcho(variable: Pick<Variable<unknown>, 'secret'>, raw: string): boolean {
  return !variable.secret && !raw.includes('://') && !raw.includes('@');
}

type Spec = Record<string, Variable<unknown>>;
export type ConfigOf<S extends Spec> = { [K in keyof S]: S[K] extends Variable<infer T> ? T : never };

/**
 * Reads and validates every variable of `spec` at once, so a bad start-up reports all problems
 * together, each under the name of its environment variable. Empty strings count as unset.
 */
export function loadConfig<S extends Spec>(
  spec: S,
  source: Record<string, string | undefined> = process.env,
): ConfigOf<S> {
  const problems: ConfigProblem[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, declared] of Object.entries(spec)) {
    const { env: name, schema, aliases = [] } = declared;
    // Empty counts as unset; the first name that is set wins.
    const env = [name, ...aliases].find((candidate) => source[candidate] !== undefined && source[candidate] !== '') ?? name;
    const raw = source[env] === '' ? undefined : source[env];
    const parsed = schema.safeParse(raw);
    if (parsed.success) {
      config[key] = parsed.data;
    } else {
      const detail = parsed.error.issues.map((issue) => issue.message).join('; ');
      const got = raw === undefined ? '' : mayEcho(declared, raw) ? ` (got "${raw}")` : ' (value not shown: it may hold a credential)';
      problems.push({ variable: env, problem: raw === undefined ? `is required (${detail})` : `${detail}${got}` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as ConfigOf<S>;
}

const hostPort = /^[A-Za-z0-9.-]+:\d{1,5}$/;

export const brokerList = z
  .string({ error: 'expected a comma-separated list of host:port' })
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .refine((brokers) => brokers.every((broker) => hostPort.test(broker)), {
    error: 'expected a comma-separated list of host:port',
  });

export const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
export const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// URL' });
export const smtpUrl = z.url({ protocol: /^smtps?$/, error: 'expected an smtp:// or smtps:// URL' });
export const port = z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535);
export const positiveInt = z.coerce.number({ error: 'expected a positive integer' }).int().positive();
export const flag = z.enum(['true', 'false'], { error: 'expected true or false' }).transform((v) => v === 'true');

export const kafkaVariables = {
  kafkaBrokers: variable('KAFKA_BROKERS', brokerList),
  kafkaClientId: variable('KAFKA_CLIENT_ID', z.string().optional()),
  kafkaSsl: variable('KAFKA_SSL', flag.default(false)),
  kafkaSaslMechanism: variable(
    'KAFKA_SASL_MECHANISM',
    z.enum(['plain', 'scram-sha-256', 'scram-sha-512'], { error: 'expected plain, scram-sha-256 or scram-sha-512' }).optional(),
  ),
  kafkaSaslUsername: variable('KAFKA_SASL_USERNAME', z.string().optional(), { secret: true }),
  kafkaSaslPassword: variable('KAFKA_SASL_PASSWORD', z.string().optional(), { secret: true }),
  /** 1 on a single local broker, 3 in production. */
  topicReplicationFactor: variable('TOPIC_REPLICATION_FACTOR', positiveInt.default(1)),
};
export type KafkaConfig = ConfigOf<typeof kafkaVariables>;

export const registryVariables = {
  // URLs may carry user info (basic auth, a database password): never echoed.
  schemaRegistryUrl: variable('SCHEMA_REGISTRY_URL', httpUrl, { secret: true }),
};
export type RegistryConfig = ConfigOf<typeof registryVariables>;

export const databaseVariables = {
  databaseUrl: variable('DATABASE_URL', postgresUrl, { secret: true }),
};
export type DatabaseConfig = ConfigOf<typeof databaseVariables>;

export const smtpVariables = {
  smtpUrl: variable('SMTP_URL', smtpUrl, { secret: true }),
};

/** The HTTP side of every consumer service (/healthz, /readyz, /metrics). */
export const httpVariables = {
  host: variable('HOST', z.string().min(1).default('127.0.0.1')),
  /** 0 = any free port (npm start gives each instance its own). */
  httpPort: variable('HTTP_PORT', port.default(0)),
};

/** How a service's consumer group member behaves. */
export const consumerVariables = {
  /** Partitions one member handles at once, each still in offset order. */
  partitionsConcurrently: variable('PARTITIONS_CONCURRENTLY', positiveInt.default(3)),
  /**
   * A member silent this long leaves the group; lower means a crashed member's partitions move
   * sooner. 6 s is the broker's default floor (group.min.session.timeout.ms).
   */
  sessionTimeoutMs: variable(
    'KAFKA_SESSION_TIMEOUT_MS',
    z.coerce.number({ error: 'expected milliseconds' }).int().min(6_000).default(30_000),
  ),
};
