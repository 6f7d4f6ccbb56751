import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import { skipToEnd } from '../../support/kafka-groups.js';
import { searchMail } from '../../support/mail.js';
import { PrivateMailSink } from '../../support/mail-sink.js';
import { publishEvents } from '../../support/publish.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually } from '../../support/stack.js';
import { sampleOrder } from '../../support/orders.js';

/**
 * Issue 11, defect 1: a mail server frozen for a while (SIGSTOP), then stopped and started again,
 * left SMTP sends that never settled, and with them the email member: it kept its partitions and
 * consumed nothing more. The email service runs as a real process against a mail sink of this
 * test's own, which the test freezes, stops and restarts.
 *
 * The freeze outlasts nodemailer's socket timeout (15 s), so a send on the pooled connection and
 * new connections' greetings time out against the frozen server; the whole outage stays inside the
 * retry tiers' budget (about a minute), so no order reaches the DLQ for it. With nodemailer 7 every
 * refused connection while the server was stopped kept a pool slot for good, and after three of
 * them no send ever settled again.
 */
const FREEZE_MS = 20_000;
const DOWN_MS = 5_000;

const fleet = new ServiceFleet();
let sink: PrivateMailSink;
let email: RunningService;
const domain = `freeze-${randomUUID().slice(0, 8)}.example`;

function order(name: string): OrderCreated {
  return sampleOrder({ eventId: randomUUID(), orderId: randomUUID(), customerId: `customer-${name}`, email: `${name}@${domain}` });
}

const orders = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => order(`${prefix}${i + 1}`));

/** Mails received per order id (from the subject, which names it). */
async function mailsPerOrder(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const mail of await searchMail(`to:"@${domain}"`, sink.apiUrl)) {
    const orderId = /^Order (\S+) received$/.exec(mail.Subject)?.[1] ?? mail.Subject;
    counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
  }
  return counts;
}

async function handlerCalls(): Promise<string> {
  const text = await fetch(`${email.url}/metrics`).then((r) => r.text(), (error: unknown) => String(error));
  return text
    .split('\n')
    .filter((line) => line.startsWith('pipeline_handler_seconds_count') || line.startsWith('pipeline_consumed_messages_total'))
    .join('\n');
}

beforeAll(async () => {
  sink = await PrivateMailSink.start();
  // Only what this test publishes: not the backlog other tests left on the shared topic.
  await skipToEnd(consumerGroups.email.groupId, topics.orderCreated.name);
  email = await fleet.start('email', { SMTP_URL: sink.smtpUrl });
});

afterAll(async () => {
  await fleet.stopAll();
  await sink?.dispose();
});

describe('email service and a mail server that freezes, then stops and comes back', () => {
  it('mails every order exactly once within 60 s of the server coming back', { timeout: FREEZE_MS + DOWN_MS + 180_000 }, async () => {
    // A running pipeline: the pool holds open connections to the server when it freezes.
    const warm = order('warm');
    await publishEvents(topics.orderCreated, [warm]);
    await eventually(async () => ((await mailsPerOrder()).get(warm.orderId) ? true : undefined), 'the first mail', 60_000);

    sink.freeze();
    const duringFreeze = orders('frozen', 5);
    await publishEvents(topics.orderCreated, duringFreeze);
    await sleep(FREEZE_MS);
    sink.thaw();
    await sink.stop();

    const whileDown = orders('down', 4);
    await publishEvents(topics.orderCreated, whileDown);
    await sleep(DOWN_MS);
    await sink.restart();
    const back = Date.now();
    const after = orders('back', 6);
    await publishEvents(topics.orderCreated, after);

    const expected = [warm, ...duringFreeze, ...whileDown, ...after].map((o) => o.orderId);
    const allMailed = await eventually(
      async () => {
        const counts = await mailsPerOrder();
        return expected.every((id) => (counts.get(id) ?? 0) >= 1) ? Date.now() : undefined;
      },
      'a mail for every order',
      60_000,
    ).catch(async (error: unknown) => {
      const counts = await mailsPerOrder();
      const missing = expected.filter((id) => !counts.has(id)).length;
      throw new Error(
        `${String(error)}: ${missing} of ${expected.length} orders without a mail\n${await handlerCalls()}\n${fleet.tails(40)}`,
      );
    });
    console.log(`every order mailed ${((allMailed - back) / 1000).toFixed(1)} s after the mail server came back`);
    // A second mail would follow its first within moments (a retry racing a slow first send).
    await sleep(2000);
    const counts = await mailsPerOrder();
    expect(expected.map((id) => counts.get(id) ?? 0)).toEqual(expected.map(() => 1));
  });
});
