/**
 * The only module that constructs kafkajs objects. kafkajs is unmaintained upstream; keeping every
 * construction here (and re-exporting the few types services need) keeps a later switch to a
 * KafkaJS-compatible client in this folder.
 */
import { Kafka, logLevel, Partitioners, type KafkaConfig as KafkaJsConfig, type LogEntry } from 'kafkajs';
import type { KafkaConfig } from '../config.js';
import { instanceId, type Logger } from '../logger.js';

export type {
  Admin,
  Consumer,
  ConsumerConfig,
  EachBatchPayload,
  EachMessagePayload,
  IHeaders,
  Kafka,
  KafkaMessage,
  Message,
  Producer,
  RecordMetadata,
} from 'kafkajs';

const toPino: Record<logLevel, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.NOTHING]: 'debug',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(config: KafkaConfig, logger: Logger, clientName: string): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  const { kafkaSaslMechanism: mechanism, kafkaSaslUsername: username, kafkaSaslPassword: password } = config;
  const sasl: KafkaJsConfig['sasl'] =
    mechanism && username && password
      ? mechanism === 'plain'
        ? { mechanism, username, password }
        : mechanism === 'scram-sha-256'
          ? { mechanism, username, password }
          : { mechanism, username, password }
      : undefined;
  return new Kafka({
    clientId: config.kafkaClientId ?? `${clientName}-${instanceId}`,
    brokers: config.kafkaBrokers,
    ssl: config.kafkaSsl,
    sasl,
    connectionTimeout: 3000,
    retry: { initialRetryTime: 100, retries: 8 },
    // kafkajs logs at INFO on every group join; WARN keeps service logs about the service.
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...rest } = log;
        // Bounded retries on the idempotent producer are deliberate (a send must fail during an
        // outage rather than hang a relay or a shutdown); consumers deduplicate on event ids.
        if (message.startsWith('Limiting retries for the idempotent producer')) return;
        kafkaLogger[toPino[level]](rest, message);
      },
  });
}

/**
 * An idempotent producer: acks from all in-sync replicas and one request in flight, so a retried
 * send can neither duplicate nor reorder a partition's messages.
 */
export function createIdempotentProducer(kafka: Kafka) {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** acks = -1 on every send of the idempotent producer. */
export const ACKS_ALL = -1;
