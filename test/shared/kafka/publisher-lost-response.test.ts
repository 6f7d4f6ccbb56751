/**
 * The publisher (the idempotent producer behind the kafka adapter) after a send whose batch the
 * broker appended but whose answer never came back (a proxy between client and broker drops it and
 * cuts the connection, on every retry, until the send gives up). The caller saw a failure; the next
 * sends must still work and still be appended: neither refused for good with
 * OUT_OF_ORDER_SEQUENCE_NUMBER (kafkajs rolls its sequence numbers back although the batch is in the
 * log) nor acknowledged without being appended (a batch of the same size, taken by the broker for a
 * retry of the lost one).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS } from '../../../shared/consumer/headers.js';
import { createKafka, kafkaClient } from '../../../shared/kafka/client.js';
import type { OutboundMessage, Publisher } from '../../../shared/kafka/port.js';
import { provisionTopics } from '../../../shared/kafka/provision.js';
import { tallyEventIds } from '../../support/event-tally.js';
import { KafkaProxy } from '../../support/kafka-proxy.js';
import { testConfig, testKafka, testLogger } from '../../support/stack.js';

let proxy: KafkaProxy;
let publisher: Publisher;
const topic = `test.publisher.lost-response.${randomUUID().slice(0, 8)}`;

function messages(label: string, count: number): OutboundMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    key: 'one-key',
    value: Buffer.from(`${label} #${i}`),
    headers: { [HEADERS.eventId]: `${label}-${i}-${randomUUID()}` },
  }));
}

const ids = (batch: OutboundMessage[]) => batch.map((m) => String(m.headers![HEADERS.eventId]));

async function outcome(send: Promise<void>): Promise<string> {
  return send.then(
    () => 'sent',
    (error: unknown) => `failed: ${error instanceof Error ? error.message : String(error)}`,
  );
}

beforeAll(async () => {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    // One partition: every batch lands on the partition whose sequence the lost answer disturbed.
    await provisionTopics(admin, 1, testLogger, [{ name: topic, partitions: 1, config: {} }]);
  } finally {
    await admin.disconnect();
  }
  proxy = await KafkaProxy.start(testConfig().kafkaBrokers[0]!);
  publisher = kafkaClient(createKafka({ ...testConfig(), kafkaBrokers: [proxy.address] }, testLogger, 'lost-response')).publisher();
  await publisher.connect();
});

afterAll(async () => {
  await publisher?.disconnect();
  await proxy?.close();
});

describe('publisher after a send whose answer was lost', () => {
  it('appends every later send exactly once, of another size or of the same size as the lost one', async () => {
    const warmUp = messages('warm-up', 2);
    await publisher.send(topic, warmUp);

    const lost = messages('lost', 3);
    proxy.loseNextProduce();
    const lostOutcome = await outcome(publisher.send(topic, lost));
    expect(lostOutcome, String(proxy)).toMatch(/^failed/);
    expect(proxy.lostProduceResponses, 'the broker answered and the answer was dropped').toBeGreaterThan(0);

    const larger = messages('larger', 5);
    const sameSize = messages('same-size', lost.length);
    const later = { larger: await outcome(publisher.send(topic, larger)), sameSize: await outcome(publisher.send(topic, sameSize)) };

    const tally = await tallyEventIds(topic, [...ids(warmUp), ...ids(lost), ...ids(larger), ...ids(sameSize)], 20_000);
    const counts = (batch: OutboundMessage[]) => ids(batch).map((id) => tally.get(id) ?? 0);
    expect({
      later,
      onTopic: { warmUp: counts(warmUp), lost: counts(lost), larger: counts(larger), sameSize: counts(sameSize) },
    }).toEqual({
      later: { larger: 'sent', sameSize: 'sent' },
      // The lost batch is in the log once: the broker appended it before its answer was dropped.
      onTopic: { warmUp: [1, 1], lost: [1, 1, 1], larger: [1, 1, 1, 1, 1], sameSize: [1, 1, 1] },
    });
  });
});
