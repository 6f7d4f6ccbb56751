import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import { skipToEnd } from '../../support/kafka-groups.js';
import { publishEvents } from '../../support/publish.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { smtpPeer, type SmtpPeer } from '../../support/smtp-peer.js';
import { eventually } from '../../support/stack.js';
import { sampleOrder } from '../../support/orders.js';

/**
 * Issue 11, defect 1, the hang that outlived nodemailer 7: a mail server that answers a byte at a
 * time never trips a socket timeout, so a send to it never settled, and three of them (the
 * partitions handled at once) held the email member for good. The email service runs as a real
 * process against an SMTP peer in this test that stalls its first three sessions.
 */
const fleet = new ServiceFleet();
let peer: SmtpPeer;
let email: RunningService;
const domain = `stall-${randomUUID().slice(0, 8)}.example`;

function order(n: number): OrderCreated {
  return sampleOrder({ eventId: randomUUID(), orderId: randomUUID(), customerId: `customer-${n}`, email: `stall${n}@${domain}` });
}

function mailsPerOrder(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of peer.messages) {
    const orderId = /^Subject: Order (\S+) received$/m.exec(message)?.[1];
    if (orderId) counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
  }
  return counts;
}

beforeAll(async () => {
  peer = await smtpPeer(3);
  await skipToEnd(consumerGroups.email.groupId, topics.orderCreated.name);
  email = await fleet.start('email', { SMTP_URL: peer.url });
});

afterAll(async () => {
  await fleet.stopAll();
  await peer?.close();
});

describe('email service and a mail server that stalls mid-reply', () => {
  it('mails every order exactly once within 60 s, and stays live', { timeout: 120_000 }, async () => {
    const orders = [1, 2, 3, 4, 5, 6].map(order);
    await publishEvents(topics.orderCreated, orders);
    const expected = orders.map((o) => o.orderId);
    await eventually(
      async () => (expected.every((id) => mailsPerOrder().has(id)) ? true : undefined),
      'a mail for every order',
      60_000,
    ).catch(async (error: unknown) => {
      const metrics = await fetch(`${email.url}/metrics`).then((r) => r.text(), String);
      const handled = metrics.split('\n').filter((line) => line.startsWith('pipeline_handler_seconds_count')).join('\n');
      throw new Error(`${String(error)}: ${expected.filter((id) => !mailsPerOrder().has(id)).length} of ${expected.length} without a mail\n${handled}`);
    });
    await sleep(2000);
    const counts = mailsPerOrder();
    expect(expected.map((id) => counts.get(id))).toEqual(expected.map(() => 1));
    expect((await fetch(`${email.url}/healthz`)).status).toBe(200);
  });
});
