import { afterAll, describe, expect, it } from 'vitest';
import { hostPort } from '../../../stack/layout.js';
import { postOrder, testPool } from '../../support/order-api.js';
import { freePort } from '../../support/processes.js';
import { ServiceFleet } from '../../support/services.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { eventually, testConfig } from '../../support/stack.js';

const fleet = new ServiceFleet();
const pool = testPool();
let proxy: TcpProxy | undefined;

afterAll(async () => {
  await fleet.stopAll();
  await proxy?.close();
  await pool.end();
});

async function gauge(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{table="order_outbox"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('order API while Kafka is down', () => {
  it('is ready while its database answers, takes orders into the outbox, reports the backlog, and drains once a broker answers', async () => {
    const brokerPort = await freePort();
    const order = await fleet.start('order', { KAFKA_BROKERS: `127.0.0.1:${brokerPort}` }, { wait: 'healthz' });

    const ready = await fetch(`${order.url}/readyz`);
    expect(ready.status).toBe(200);
    const placed = await postOrder(order.url, {
      customerId: 'readiness',
      email: 'readiness@order-api.example',
      currency: 'EUR',
      items: [{ sku: 'SKU-004', quantity: 1 }],
    });
    expect(placed.status).toBe(202);
    const orderId = String(placed.body.orderId);

    await eventually(async () => ((await gauge(order.url, 'pipeline_outbox_unsent_rows')) ?? 0) >= 1 || undefined, 'the backlog reported', 20_000);
    await eventually(async () => ((await gauge(order.url, 'pipeline_outbox_relay_consecutive_failures')) ?? 0) >= 1 || undefined, 'failed rounds reported', 20_000);
    expect(await gauge(order.url, 'pipeline_outbox_oldest_unsent_seconds')).toBeGreaterThanOrEqual(0);

    proxy = await startTcpProxy(brokerPort, hostPort(testConfig().kafkaBrokers[0]!));
    await eventually(
      async () => {
        const { rows } = await pool.query<{ sent: boolean }>('SELECT sent_at IS NOT NULL AS sent FROM order_outbox WHERE message_key = $1', [orderId]);
        return rows[0]?.sent || undefined;
      },
      'the order published once a broker answers',
      60_000,
    );
    await eventually(async () => (await gauge(order.url, 'pipeline_outbox_relay_consecutive_failures')) === 0 || undefined, 'failures reset', 20_000);
    await eventually(async () => (await gauge(order.url, 'pipeline_outbox_unsent_rows')) === 0 || undefined, 'the backlog drained', 20_000);
  }, 120_000);
});
