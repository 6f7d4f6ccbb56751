import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderFollowUp } from '../../../shared/contracts/schemas.js';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { publishOrders, sampleOrder } from '../../support/orders.js';
import { publishEvents } from '../../support/publish.js';
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
const outageMs = 4000;
let db: OwnDatabase;
let smtp: TestSmtpServer;
let email: RunningService;

/** One outage per test: at the first mail to its domain. */
class Outage {
  readonly domain = `outage-${randomUUID().slice(0, 8)}.example`;
  terminated: number | undefined;
  restored: Promise<void> | undefined;

  async beforeAccept(to: readonly string[]): Promise<void> {
    if (this.restored || !to.some((address) => address.endsWith(`@${this.domain}`))) return;
    this.restored = sleep(outageMs).then(() => db.allowConnections());
    this.terminated = await db.refuseConnections();
  }

  mailsTo(): typeof smtp.received {
    return smtp.received.filter((mail) => mail.to.some((address) => address.endsWith(`@${this.domain}`)));
  }
}
const outages = { confirmation: new Outage(), followUp: new Outage() };

beforeAll(async () => {
  db = await freshDatabase(process.env.DATABASE_URL!, 'op_email');
  smtp = await startSmtpServer({
    beforeAccept: async (mail) => {
      for (const outage of Object.values(outages)) await outage.beforeAccept(mail.to);
    },
  });
  email = await fleet.start('email', { DATABASE_URL: db.url, SMTP_URL: smtp.url });
});

afterAll(async () => {
  await fleet.stopAll();
  for (const outage of Object.values(outages)) await outage.restored?.catch(() => undefined);
  await smtp?.close();
  await db?.drop();
});

function perMessageId(mails: ReturnType<Outage['mailsTo']>): Record<string, number> {
  const counts = new Map<string, number>();
  for (const mail of mails) counts.set(mail.messageId, (counts.get(mail.messageId) ?? 0) + 1);
  return Object.fromEntries(counts);
}

/** Whether every order has its mail recorded in `table`, and every event claimed; undefined while the database refuses. */
async function settled(table: 'email_sends' | 'email_follow_ups', orderIds: string[], eventIds: string[]): Promise<boolean | undefined> {
  try {
    const sent = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE order_id = ANY($1::text[])`, [orderIds]);
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
    const outage = outages.confirmation;
    const orders = Array.from({ length: 10 }, (_, i) => sampleOrder({ email: `customer-${i}@${outage.domain}` }));
    await publishOrders(orders);

    await eventually(() => settled('email_sends', orders.map((o) => o.orderId), orders.map((o) => o.eventId)), 'every confirmation recorded', 120_000);
    // A second mail is sent before its record commits; nothing should follow, but give it a moment.
    await sleep(1000);

    expect(outage.terminated, 'the outage hit the service while a mail was in flight').toBeGreaterThanOrEqual(1);
    expect(perMessageId(outage.mailsTo())).toEqual(Object.fromEntries(orders.map((o) => [`order-${o.orderId}@order-pipeline.local`, 1])));

    const steps = await db.pool.query<{ message_key: string }>('SELECT message_key FROM email_outbox WHERE topic = $1 AND message_key = ANY($2::text[])', [
      topics.orderSteps.name,
      orders.map((o) => o.orderId),
    ]);
    expect(steps.rows.map((r) => r.message_key).sort()).toEqual(orders.map((o) => o.orderId).sort());
    expect(email.child.exitCode).toBeNull();
    expect(email.output.join('\n')).not.toContain('sent to the DLQ');
  }, 180_000);

  it('sends exactly one follow-up per order', async () => {
    const outage = outages.followUp;
    const followUps: OrderFollowUp[] = Array.from({ length: 10 }, (_, i) => ({
      eventId: randomUUID(),
      orderId: randomUUID(),
      email: `customer-${i}@${outage.domain}`,
      confirmedAt: Date.now(),
    }));
    await publishEvents(topics.orderFollowUps, followUps);

    await eventually(() => settled('email_follow_ups', followUps.map((f) => f.orderId), followUps.map((f) => f.eventId)), 'every follow-up recorded', 120_000);
    await sleep(1000);

    expect(outage.terminated, 'the outage hit the service while a mail was in flight').toBeGreaterThanOrEqual(1);
    expect(perMessageId(outage.mailsTo())).toEqual(Object.fromEntries(followUps.map((f) => [`follow-up-${f.orderId}@order-pipeline.local`, 1])));
    expect(email.child.exitCode).toBeNull();
  }, 180_000);
});
