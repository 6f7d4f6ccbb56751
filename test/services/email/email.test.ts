import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from '../../../shared/db.js';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import { readMail, searchMail } from '../../support/mail.js';
import { testPool } from '../../support/order-api.js';
import { publishEvents } from '../../support/publish.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually } from '../../support/stack.js';

const fleet = new ServiceFleet();
let email: RunningService;
let pool: Pool;
const domain = `email-${randomUUID().slice(0, 8)}.example`;

function order(name: string): OrderCreated {
  return {
    eventId: randomUUID(),
    orderId: randomUUID(),
    customerId: `customer-${name}`,
    email: `${name}@${domain}`,
    items: [
      { sku: 'SKU-005', quantity: 2, unitPriceCents: 1165 },
      { sku: 'SKU-006', quantity: 1, unitPriceCents: 1300 },
    ],
    totalCents: 3630,
    currency: 'EUR',
    createdAt: Date.now(), clientId: null,
  };
}

beforeAll(async () => {
  pool = testPool();
  // Debug level: the address must not appear in the logs at any level.
  email = await fleet.start('email', { LOG_LEVEL: 'debug' });
});

afterAll(async () => {
  await fleet.stopAll();
  await pool?.end();
});

describe('email service', () => {
  it('sends exactly one confirmation per order, even when an event is delivered twice', async () => {
    const ada = order('ada');
    const bob = order('bob');
    await publishEvents(topics.orderCreated, [ada, bob, ada]);
    // The redelivery follows in a separate send too, after the first one was handled.
    await eventually(async () => ((await searchMail(`to:"@${domain}"`)).length >= 2 ? true : undefined), 'two mails');
    await publishEvents(topics.orderCreated, [bob]);
    await sleep(1500);

    const mails = await searchMail(`to:"@${domain}"`);
    expect(mails.map((m) => m.To[0]?.Address).sort()).toEqual([ada.email, bob.email]);
    const adaMail = mails.find((m) => m.To[0]?.Address === ada.email)!;
    expect(adaMail.Subject).toBe(`Order ${ada.orderId} received`);
    expect(adaMail.MessageID).toBe(`order-${ada.orderId}@order-pipeline.local`);
    const full = await readMail(adaMail.ID);
    expect(full.Text).toContain('2 x SKU-005');
    expect(full.Text).toContain('Total: 36.30 EUR');

    const sends = await pool.query('SELECT order_id FROM email_sends WHERE order_id = ANY($1::text[])', [[ada.orderId, bob.orderId]]);
    expect(sends.rowCount).toBe(2);
    const steps = await pool.query<{ message_key: string; topic: string }>(
      'SELECT message_key, topic FROM email_outbox WHERE message_key = ANY($1::text[])',
      [[ada.orderId, bob.orderId]],
    );
    expect(steps.rows.map((r) => r.topic)).toEqual([topics.orderSteps.name, topics.orderSteps.name]);
  });

  it('sends one mail per order even when a second event id names an order already mailed', async () => {
    const first = order('cy');
    // Another event for the same order (a re-published order.created, say): a duplicate effect.
    const second: OrderCreated = { ...first, eventId: randomUUID() };
    const mailsTo = async () => (await searchMail(`to:"${first.email}"`)).length;
    await publishEvents(topics.orderCreated, [first]);
    await eventually(async () => ((await mailsTo()) >= 1 ? true : undefined), 'the first mail');
    await publishEvents(topics.orderCreated, [second]);
    // Handled = claimed by the group; a second mail would show up first, so stop at either.
    await eventually(async () => {
      const claimed = await pool.query('SELECT 1 FROM processed_events WHERE consumer_group = $1 AND event_id = $2', [
        consumerGroups.email.groupId,
        second.eventId,
      ]);
      return claimed.rowCount === 1 || (await mailsTo()) > 1 ? true : undefined;
    }, 'the second event handled');
    await sleep(1000);

    expect(await mailsTo()).toBe(1);
    const sends = await pool.query<{ cause_event_id: string }>('SELECT cause_event_id FROM email_sends WHERE order_id = $1', [first.orderId]);
    expect(sends.rows).toEqual([{ cause_event_id: first.eventId }]);
  });

  it('never logs the address', () => {
    const logs = email.output.join('\n');
    expect(logs).toContain('order confirmation sent');
    expect(logs).not.toContain(domain);
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await fleet.stop(email)).toEqual({ code: 0, signal: null });
  });
});
