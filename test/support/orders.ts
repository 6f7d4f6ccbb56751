import { ACKS_ALL, createIdempotentProducer, type IHeaders } from '../../shared/kafka/client.js';
import { topics } from '../../shared/contracts/topics.js';
import type { OrderCreated } from '../../shared/contracts/schemas.js';
import { testKafka, testSerde, uniqueId } from './stack.js';

export function sampleOrder(overrides: Partial<OrderCreated> = {}): OrderCreated {
  return {
    eventId: uniqueId('evt'),
    orderId: uniqueId('ord'),
    customerId: 'cust-test',
    email: 'test@example.com',
    items: [{ sku: 'SKU-TEST', quantity: 1, unitPriceCents: 100 }],
    totalCents: 100,
    currency: 'EUR',
    createdAt: Date.now(), clientId: null,
    ...overrides,
  };
}

/** Publishes events to order.created in one send (keyed by order id); returns them. */
export async function publishOrders(orders: OrderCreated[], headers: IHeaders = {}): Promise<OrderCreated[]> {
  const serde = testSerde();
  const producer = createIdempotentProducer(testKafka());
  await producer.connect();
  try {
    const messages = await Promise.all(
      orders.map(async (order) => ({
        key: order.orderId,
        value: await serde.encode(topics.orderCreated, order),
        headers: { 'event-id': order.eventId, ...headers },
      })),
    );
    await producer.send({ topic: topics.orderCreated.name, acks: ACKS_ALL, messages });
  } finally {
    await producer.disconnect();
  }
  return orders;
}
