import { HEADERS } from '../../shared/consumer/headers.js';
import { ACKS_ALL, createIdempotentProducer } from '../../shared/kafka/client.js';
import type { TopicDeclaration } from '../../shared/kafka/topology.js';
import { testKafka, testSerde } from './stack.js';

/**
 * Publishes Avro values to `topic` in one send, keyed by their orderId (or `keyOf`) and with their
 * eventId as the event-id header, as the services' relays do. Publishing a value twice is a redelivery.
 */
export async function publishEvents<T extends { eventId: string; orderId?: string }>(
  topic: TopicDeclaration<T>,
  values: readonly T[],
  keyOf: (value: T) => string = (value) => value.orderId ?? value.eventId,
): Promise<void> {
  const serde = testSerde();
  const producer = createIdempotentProducer(testKafka());
  await producer.connect();
  try {
    const messages = await Promise.all(
      values.map(async (value) => ({
        key: keyOf(value),
        value: await serde.encode(topic, value),
        headers: { [HEADERS.eventId]: value.eventId },
      })),
    );
    await producer.send({ topic: topic.name, acks: ACKS_ALL, messages });
  } finally {
    await producer.disconnect();
  }
}
