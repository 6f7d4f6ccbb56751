import type { FastifyInstance } from 'fastify';
import { ConsumerRuntime, type ConsumerRuntimeOptions } from '../consumer/consumer-runtime.js';
import { createKafka, kafkaClient } from '../kafka/client.js';
import { topicLookup, type ConsumerGroupDeclaration, type Topology } from '../kafka/topology.js';
import type { Outbox } from '../outbox/outbox.js';
import { OutboxRelay } from '../outbox/relay.js';
import { AvroSerde } from '../registry/serde.js';
import { runService } from '../service.js';
import { BackgroundConsumer } from './background-consumer.js';
import { openDatabase, type Database, type DatabaseOptions } from './database.js';
import { HTTP_CLOSE_BOUND_MS, serveHttp } from './serve-http.js';
import { ServiceDefinitionError, serviceParts, type ServiceParts } from './service-parts.js';
import type { KitConfig } from './variables.js';

/** Runtime options a service may tune; the rest come from the kit. */
export type RuntimeTuning = Partial<Omit<ConsumerRuntimeOptions, 'client' | 'serde' | 'logger' | 'group' | 'pool'>>;

/** A service's database: its URL is config.databaseUrl. */
export interface ServiceDatabase extends Omit<DatabaseOptions, 'url' | 'outbox'> {
  /** The outbox table and the topics it may hold (its relay looks up each row's schema by topic name). */
  outbox?: { table: string; topology: Pick<Topology, 'topics'> };
}

export interface ConsumerServiceDefinition<C extends KitConfig> {
  /** Loads the service's configuration (its config.ts). */
  config: () => C;
  /** Without it the service has no database. */
  database?: ServiceDatabase | ((config: C) => ServiceDatabase);
  /** Runtime options beyond partitionsConcurrently and sessionTimeoutMs from the configuration. */
  runtime?: (config: C) => RuntimeTuning;
  /**
   * Start the consumer in the background, retrying while Kafka is unreachable, so the HTTP API
   * serves meanwhile; otherwise start-up waits for the group and fails when it cannot join. A
   * background service's readiness is its own `ready` alone: Kafka being away is what it is built
   * to ride out, so the consumer's and the relay's state go to metrics, not to /readyz.
   * @defaultValue false
   */
  background?: boolean;
  /** Registers the group's handlers; parts started here (producers, mailers) register their closers. */
  consume: (runtime: ConsumerRuntime, parts: ServiceParts<C>) => void | Promise<void>;
  /** The service's own HTTP routes. */
  routes?: (app: FastifyInstance, parts: ServiceParts<C>) => void;
  /** Readiness beyond "group joined and relay connected" (e.g. the database answers); a background service's whole readiness. */
  ready?: (parts: ServiceParts<C>) => Promise<boolean>;
  /** @defaultValue 65536 */
  bodyLimit?: (config: C) => number;
}

/** The relay's share of the shutdown bound: its last round and disconnect. */
const RELAY_STOP_BOUND_MS = 5000;

/** Kept between the consumer's own stop bound and its closer's: the steps after the runtime's deadline. */
const CONSUMER_STOP_SLACK_MS = 1000;

/** Starts the relay of a service's outbox, woken by each commit that appends to it. */
export function startRelay(outbox: Outbox, parts: ServiceParts<KitConfig>, topology: Pick<Topology, 'topics'>): OutboxRelay {
  const { pool, kafka, serde, logger, shutdown, config } = parts;
  const topics = topicLookup(topology);
  const relay = new OutboxRelay({ pool, client: kafka, serde, logger, table: outbox.table, topics, pollIntervalMs: config.outboxPollMs });
  outbox.onCommit(() => relay.wake());
  relay.start();
  shutdown.add('outbox relay', () => relay.stop(), RELAY_STOP_BOUND_MS);
  return relay;
}

/**
 * A consumer service, wired the one way: configuration, database (pool, SQL, runtime tables,
 * outbox), its outbox relay, the consumer group member (in the foreground or background), and the
 * HTTP server (/healthz: the member is not stalled; /readyz: it joined its group), each closed in
 * reverse order on SIGTERM.
 */
export function runConsumerService<C extends KitConfig>(
  /** Names the logger, the Kafka client and the process. */
  name: string,
  group: ConsumerGroupDeclaration,
  definition: ConsumerServiceDefinition<C>,
): Promise<void> {
  return runService(name, async ({ logger, shutdown }) => {
    const config = definition.config();
    const declared = typeof definition.database === 'function' ? definition.database(config) : definition.database;
    let database: Database | undefined;
    if (declared) {
      if (!config.databaseUrl) throw new ServiceDefinitionError('a service with a database reads DATABASE_URL (databaseVariables)');
      database = await openDatabase({ ...declared, url: config.databaseUrl, outbox: declared.outbox?.table }, logger, shutdown);
    }
    const kafka = kafkaClient(createKafka(config, logger, name));
    const serde = AvroSerde.connect(config.schemaRegistryUrl);
    const service = serviceParts<C>({ config, logger, shutdown, kafka, serde }, group, database);
    const relay = database?.outbox && declared?.outbox && startRelay(database.outbox, service, declared.outbox.topology);

    const tuning = definition.runtime?.(config) ?? {};
    const runtime = new ConsumerRuntime({
      client: kafka,
      serde,
      logger,
      group,
      pool: database?.consumerRuntime ? database.pool : undefined,
      partitionsConsumedConcurrently: config.partitionsConcurrently,
      sessionTimeoutMs: config.sessionTimeoutMs,
      ...tuning,
    });
    await definition.consume(runtime, service);
    // The consumer's closer is registered before it starts, so a signal during a long start (a
    // join waiting for a rebalance) still stops it and it leaves the group. Its bound is what the
    // closers registered so far (pool, relay, the service's own) leave of the process's bound,
    // less the HTTP server's share, registered after it: the bounds add up to less than the
    // process's own by construction (GracefulShutdown.add refuses more).
    const stopTimeoutMs = tuning.stopTimeoutMs ?? shutdown.unallocatedMs - HTTP_CLOSE_BOUND_MS - CONSUMER_STOP_SLACK_MS;
    const consumer = definition.background ? new BackgroundConsumer(runtime, logger) : undefined;
    shutdown.add('consumer', () => (consumer ? consumer.stop(stopTimeoutMs) : runtime.stop(stopTimeoutMs)), stopTimeoutMs + CONSUMER_STOP_SLACK_MS);
    if (consumer) consumer.start();
    else await runtime.start();
    // A signal during the start stopped the consumer (start() then resolves early): serve nothing.
    if (shutdown.stopRequested) return;

    await serveHttp(
      {
        host: config.host,
        port: config.httpPort,
        bodyLimit: definition.bodyLimit?.(config),
        routes: definition.routes && ((app) => definition.routes!(app, service)),
        ready: async () =>
          (definition.background || (runtime.isReady() && (relay?.isConnected() ?? true))) &&
          (definition.ready ? await definition.ready(service) : true),
        // A member whose handlers stopped completing keeps its partitions until restarted.
        live: () => runtime.isLive(),
      },
      logger,
      shutdown,
    );
  });
}
