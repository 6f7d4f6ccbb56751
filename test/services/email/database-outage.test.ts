import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { publishOrders, sampleOrder } from '../../support/orders.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { startSmtpServer, type TestSmtpServer } from '../../support/smtp-server.js';
import { eventually } from '../../support/stack.js';

/**
 * The database goes away at the worst moment for a mail: the SMTP server has the whole message and
 * has not answered yet. It refuses the email service's connections and terminates the open ones
 * (the transaction of the send among them), answers 250, and lets the database back a few seconds
 * later. The mail is out; the service must not send it again once the database is back.
 */
const fleet = new ServiceFleet();
const domain = `outage-${randomUUID().slice(0, 8)}.example`;
const outageMs = 4000;
let db: OwnDatabase;
let smtp: TestSmtpServer;
let email: RunningService;
let terminated: number | undefined;
let restored: Promise<void> | undefined;

beforeAll(async () => {
  db = await freshDatabase(process.env.DATABASE_URL!, 'op_email');
  smtp = await startSmtpServer({
    beforeAccept: async (mail) => {
      if (restored || !mail.to.some((address) => address.endsWith(`@${domain}`))) return;
      restored = sleep(outageMs).then(() => db.allowConnections());
      terminated = await db.refuseConnections();
    },
  });
  email = await fleet.start('email', { DATABASE_URL: db.url, SMTP_URL: smtp.url });
});

afterAll(async () => {
  await fleet.stopAll();
  await restored?.catch(() => undefined);
  await smtp?.close();
  await db?.drop();
});

/** How many of the orders have their confirmation recorded as sent, and their events claimed; undefined while the database refuses. */
async function settled(orderIds: string[], eventIds: string[]): Promise<boolean | undefined> {
  try {
    const sent = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM email_sends WHERE order_id = ANY($1::text[]) AND sent_at IS NOT NULL', [orderIds]);
    const claimed = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM processed_events WHERE consumer_group = $1 AND event_id = ANY($2::text[])', [
      consumerGroups.email.groupId,
      eventIds,
    ]);
    return Number(sent.rows[0]?.n) === orderIds.length && Number(claimed.rows[0]?.n) === eventIds.length ? true : undefined;
  } catch {
    return undefined;
  }
}

describe('email service, database outage while a mail is being accepted', () => {
  it('sends exactly one confirmation per order', async () => {
    const orders = Array.from({ length: 10 }, (_, i) => sampleOrder({ email: `customer-${i}@${domain}` }));
    await publishOrders(orders);

    await eventually(() => settled(orders.map((o) => o.orderId), orders.map((o) => o.eventId)), 'every confirmation recorded', 120_000);
    // A second mail is sent before its record commits; nothing should follow, but give it a moment.
    await sleep(1000);

    expect(terminated, 'the outage hit the service while a mail was in flight').toBeGreaterThanOrEqual(1);
    const mine = smtp.received.filter((mail) => mail.to.some((address) => address.endsWith(`@${domain}`)));
    const perOrder = new Map<string, number>();
    for (const mail of mine) perOrder.set(mail.messageId, (perOrder.get(mail.messageId) ?? 0) + 1);
    expect(Object.fromEntries(perOrder)).toEqual(Object.fromEntries(orders.map((o) => [`order-${o.orderId}@order-pipeline.local`, 1])));

    const steps = await db.pool.query<{ message_key: string }>('SELECT message_key FROM email_outbox WHERE topic = $1 AND message_key = ANY($2::text[])', [
      topics.orderSteps.name,
      orders.map((o) => o.orderId),
    ]);
    expect(steps.rows.map((r) => r.message_key).sort()).toEqual(orders.map((o) => o.orderId).sort());
    expect(email.child.exitCode).toBeNull();
    expect(email.output.join('\n')).not.toContain('sent to the DLQ');
  }, 180_000);
});
