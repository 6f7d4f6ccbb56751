/**
 * The kafkajs objects operator tooling needs (the DLQ library, an operations dashboard), constructed
 * here beside client.ts so the tools construct none themselves. Built on a `Kafka` from createKafka.
 */
import type { Admin, Consumer, Kafka } from './client.js';

/** An admin client; connect it before use and disconnect it when done. */
export function createAdmin(kafka: Kafka): Admin {
  return kafka.admin();
}

/**
 * A consumer that scans topics and commits nothing: its group is a throwaway one named by the caller,
 * who deletes it afterwards. It never creates a topic it is asked to read, and polls in short waits
 * because a scan stops as soon as it reaches the end it was given.
 */
export function createScanConsumer(kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
}
