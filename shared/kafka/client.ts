/**
 * The only module that constructs kafkajs objects. kafkajs is unmaintained upstream; keeping every
 * construction here (and re-exporting the few types services and admin tools need) keeps a later
 * switch to a KafkaJS-compatible client in this folder. kafkaClient() adapts kafkajs to the
 * runtime's port (port.ts), the one implementation of it.
 */
import { Kafka, logLevel, Partitioners, type KafkaConfig as KafkaJsConfig, type LogEntry } from 'kafkajs';
import type { KafkaConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import { instanceId, type Logger } from '../logger.js';
import type { BatchSource, BatchSourceOptions, KafkaClient, Publisher } from './port.js';
import { RenewingPublisher } from './renewing-publisher.js';
import { kafkaTail } from './tail.js';

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
        kafkaLogger[toPino[level]](rest, message);
      },
  });
}

/**
 * An idempotent producer: acks from all in-sync replicas and one request in flight, so a retried
 * send can neither duplicate nor reorder a partition's messages. Its retries are bounded (kafkajs
 * warns about that at creation): a send must fail during an outage rather than hang a relay or a
 * shutdown. After a failed send a producer must not send again (renewing-publisher.ts says why):
 * the port's publisher replaces it; a tool that stops at its first failed send may use one directly.
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

/** The runtime's port (port.ts) over kafkajs. */
export function kafkaClient(kafka: Kafka): KafkaClient {
  return {
    batchSource: (options) => kafkaBatchSource(kafka, options),
    publisher: () => kafkaPublisher(kafka),
    tail: (options) => kafkaTail(kafka, options),
    // By name: kafkajs' error classes are not named exports of its CommonJS module under ESM.
    isClientError: (error) => error instanceof Error && error.name.startsWith('KafkaJS'),
    async partitionCounts(topics) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
        return new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
      } finally {
        await admin.disconnect();
      }
    },
  };
}

function kafkaBatchSource(kafka: Kafka, options: BatchSourceOptions): BatchSource {
  const consumer = kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitTimeInMs,
    maxBytesPerPartition: options.maxBytesPerPartition,
    maxBytes: options.maxBytes,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: options.heartbeatIntervalMs,
    allowAutoTopicCreation: false,
  });
  return {
    connect: () => consumer.connect(),
    subscribe: (topics) => consumer.subscribe({ topics: [...topics], fromBeginning: true }),
    run: (run) =>
      consumer.run({
        partitionsConsumedConcurrently: run.partitionsConsumedConcurrently,
        eachBatchAutoResolve: false,
        autoCommit: run.autoCommit,
        autoCommitInterval: run.autoCommitIntervalMs,
        // kafkajs' batch and payload already have the port's shapes: handed over as they are, no copy per message.
        eachBatch: (payload) => run.eachBatch(payload.batch, payload),
      }),
    commit: (offsets) => consumer.commitOffsets(offsets),
    seek: (offset) => consumer.seek(offset),
    pause: (topics) => consumer.pause(topics.map((topic) => ({ topic }))),
    onJoined: (listener) => void consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => listener(payload)),
    onCrashed: (listener) => void consumer.on(consumer.events.CRASH, ({ payload }) => listener(payload)),
    groupMembers: async () => (await consumer.describeGroup()).members.length,
    disconnect: () => consumer.disconnect(),
  };
}

/** The port's publisher: a new idempotent producer after every failed send. */
function kafkaPublisher(kafka: Kafka): Publisher {
  const logger = kafka.logger().namespace('Publisher');
  return new RenewingPublisher({
    create: () => idempotentPublisher(kafka),
    onRetired: (error) =>
      logger.warn('Producer given up after a failed send; the next send uses a new producer id', {
        errorClass: error instanceof Error ? error.name : typeof error,
        error: errorMessage(error),
      }),
  });
}

function idempotentPublisher(kafka: Kafka): Publisher {
  const producer = createIdempotentProducer(kafka);
  return {
    connect: () => producer.connect(),
    send: async (topic, messages) => {
      await producer.send({ topic, acks: ACKS_ALL, messages });
    },
    sendBatch: async (batches) => {
      await producer.sendBatch({ acks: ACKS_ALL, topicMessages: [...batches] });
    },
    onDisconnect: (listener) => void producer.on(producer.events.DISCONNECT, listener),
    disconnect: () => producer.disconnect(),
  };
}
