import type { FastifyInstance } from 'fastify';
import { createKafka, kafkaClient } from '../kafka/client.js';
import { AvroSerde } from '../registry/serde.js';
import { runService } from '../service.js';
import { startRelay, type ServiceDatabase } from './consumer-service.js';
import { openDatabase } from './database.js';
import { serveHttp } from './serve-http.js';
import { ServiceDefinitionError, serviceParts, type ServiceParts } from './service-parts.js';
import type { KitConfig } from './variables.js';

export interface WorkerServiceDefinition<C extends KitConfig> {
  /** Loads the service's configuration (its config.ts). */
  config: () => C;
  /** A worker works on its database; its outbox (if declared) gets a relay. */
  database: ServiceDatabase | ((config: C) => ServiceDatabase);
  /** Starts the service's own work in the background; it registers its closers on parts.shutdown. */
  work: (parts: ServiceParts<C>) => void | Promise<void>;
  routes?: (app: FastifyInstance, parts: ServiceParts<C>) => void;
  /**
   * The whole readiness (the relay's state goes to metrics: a worker keeps handing over to its
   * outbox while Kafka is away).
   * @defaultValue the database answers
   */
  ready?: (parts: ServiceParts<C>) => Promise<boolean>;
}

/**
 * A service that consumes no topic and works on its own (e.g. the scheduler's dispatcher), wired
 * like a consumer service: configuration, database and outbox relay, its work, the HTTP server,
 * each closed in reverse order on SIGTERM.
 */
export function runWorkerService<C extends KitConfig>(name: string, definition: WorkerServiceDefinition<C>): Promise<void> {
  return runService(name, async ({ logger, shutdown }) => {
    const config = definition.config();
    const declared = typeof definition.database === 'function' ? definition.database(config) : definition.database;
    if (!config.databaseUrl) throw new ServiceDefinitionError('a worker service reads DATABASE_URL (databaseVariables)');
    const database = await openDatabase({ consumerRuntime: false, ...declared, url: config.databaseUrl, outbox: declared.outbox?.table }, logger, shutdown);
    const kafka = kafkaClient(createKafka(config, logger, name));
    const serde = AvroSerde.connect(config.schemaRegistryUrl);
    const service = serviceParts<C>({ config, logger, shutdown, kafka, serde }, undefined, database);
    if (database.outbox && declared.outbox) startRelay(database.outbox, service, declared.outbox.topology);
    await definition.work(service);
    const databaseAnswers = () =>
      database.pool.query('SELECT 1').then(
        () => true,
        () => false,
      );
    await serveHttp(
      {
        host: config.host,
        port: config.httpPort,
        routes: definition.routes && ((app) => definition.routes!(app, service)),
        ready: () => (definition.ready ? definition.ready(service) : databaseAnswers()),
      },
      logger,
      shutdown,
    );
  });
}
