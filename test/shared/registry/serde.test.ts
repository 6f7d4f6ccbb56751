import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ACKS_ALL, createIdempotentProducer } from '../../../shared/kafka/client.js';
import { topics } from '../../../shared/contracts/topics.js';
import { PoisonPillError } from '../../../shared/errors.js';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import { readTopic, testConfig, testKafka, testSerde, uniqueId } from '../../support/stack.js';

function sampleOrder(): OrderCreated {
  return {
    eventId: uniqueId('evt'),
    orderId: uniqueId('ord'),
    customerId: 'cust-1',
    email: 'ada@example.com',
    items: [
      { sku: 'SKU-001', quantity: 2, unitPriceCents: 1250 },
      { sku: 'SKU-002', quantity: 1, unitPriceCents: 999 },
    ],
    totalCents: 3499,
    currency: 'EUR',
    createdAt: Date.UTC(2026, 10, 27, 12, 0, 0),
    clientId: null,
  };
}

describe('Avro serde against the real registry and broker', () => {
  it('a produced OrderCreated is read back by a fresh consumer group and decodes equal', async () => {
    const serde = testSerde();
    const order = sampleOrder();
    const producer = createIdempotentProducer(testKafka());
    await producer.connect();
    const [sent] = await producer.send({
      topic: topics.orderCreated.name,
      acks: ACKS_ALL,
      messages: [{ key: order.orderId, value: await serde.encode(topics.orderCreated, order) }],
    });
    await producer.disconnect();

    // An independent client (kcat, librdkafka) sees the Confluent wire format on the broker.
    const kcat = spawnSync(
      'kcat',
      ['-C', '-b', testConfig().kafkaBrokers.join(','), '-t', topics.orderCreated.name, '-p', String(sent!.partition), '-o', sent!.baseOffset!, '-c', '1', '-f', '%s'],
      { timeout: 30_000 },
    );
    expect(kcat.status, kcat.stderr.toString()).toBe(0);
    expect(kcat.stdout[0]).toBe(0);
    expect(kcat.stdout.readUInt32BE(1)).toBe(await serde.register(topics.orderCreated));

    const messages = await readTopic(topics.orderCreated.name, (seen) =>
      seen.some((m) => m.key?.toString() === order.orderId),
    );
    const message = messages.find((m) => m.key?.toString() === order.orderId);
    if (!message?.value) throw new Error('message not found');

    // Confluent wire format: magic byte 0, then the id the registry gave the subject's schema.
    expect(message.value[0]).toBe(0);
    expect(message.value.readUInt32BE(1)).toBe(await serde.register(topics.orderCreated));
    expect(await testSerde().decode(topics.orderCreated, message.value)).toEqual(order);
  });

  it('refuses to encode a value that does not match the schema, naming the field', async () => {
    const bad = { ...sampleOrder(), totalCents: 'lots' } as unknown as OrderCreated;
    await expect(testSerde().encode(topics.orderCreated, bad)).rejects.toThrow(/totalCents/);
  });

  it('classifies undecodable bytes as poison pills', async () => {
    const serde = testSerde();
    const notFramed = serde.decode(topics.orderCreated, Buffer.from('{"orderId":"x"}'));
    await expect(notFramed).rejects.toBeInstanceOf(PoisonPillError);
    await expect(notFramed).rejects.toMatchObject({ reason: 'not-framed', retriable: false });

    const unknownId = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('xx')]);
    await expect(serde.decode(topics.orderCreated, unknownId)).rejects.toMatchObject({ reason: 'unknown-schema' });

    const id = await serde.register(topics.orderCreated);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(id, 1);
    const truncated = Buffer.concat([header, Buffer.from([0x02])]);
    await expect(serde.decode(topics.orderCreated, truncated)).rejects.toMatchObject({ reason: 'invalid-value' });
  });
});
