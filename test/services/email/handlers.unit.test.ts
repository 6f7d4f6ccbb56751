import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../../shared/consumer/types.js';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import type { PoolClient } from '../../../shared/db.js';
import { DUPLICATE, type HandleOnce } from '../../../shared/kit/handle-once.js';
import type { Logger } from '../../../shared/logger.js';
import { metrics } from '../../../shared/metrics.js';
import type { Outbox } from '../../../shared/outbox/outbox.js';
import { EmailHandlers } from '../../../services/email/handlers.js';
import { isDependencyUnavailable } from '../../../shared/dependency-unavailable.js';
import { sampleOrder } from '../../support/orders.js';

const pgError = (message: string, code?: string) => Object.assign(new Error(message), code === undefined ? {} : { code });
/** What node-postgres answers a COMMIT on a connection the server terminated. */
const terminated = () => pgError('Client has encountered a connection error and is not queryable');

/**
 * The email handler's view of PostgreSQL in memory: the orders recorded as mailed, the group's claims
 * and the outbox steps, with transactions that apply on commit, and failures queued for the next commits.
 */
function fakeDatabase() {
  const mailed = new Set<string>();
  const claims = new Set<string>();
  const steps: string[] = [];
  const commitFailures: unknown[] = [];
  /** What each open transaction wrote. */
  const writes = new WeakMap<PoolClient, { mailed: string[]; steps: string[] }>();
  const handleOnce: HandleOnce = async (event, work) => {
    if (claims.has(event.eventId)) return DUPLICATE;
    const written = { mailed: [] as string[], steps: [] as string[] };
    const tx = {
      query: async (_sql: string, params: unknown[]) => {
        const orderId = String(params[0]);
        if (mailed.has(orderId) || written.mailed.includes(orderId)) return { rowCount: 0, rows: [] };
        written.mailed.push(orderId);
        return { rowCount: 1, rows: [] };
      },
    } as unknown as PoolClient;
    writes.set(tx, written);
    const result = await work(tx);
    const failure = commitFailures.shift();
    if (failure !== undefined) throw failure;
    for (const orderId of written.mailed) mailed.add(orderId);
    steps.push(...written.steps);
    claims.add(event.eventId);
    return result;
  };
  const outbox = {
    append: async (tx: PoolClient, messages: ReadonlyArray<{ key: string }>) => void writes.get(tx)?.steps.push(...messages.map((m) => m.key)),
  } as unknown as Outbox;
  return { effects: { handleOnce, outbox }, mailed, claims, steps, commitFailures };
}

function fakeMailer() {
  const sent: string[] = [];
  return { sent, mailer: { send: async (mail: { messageId: string }) => void sent.push(mail.messageId) } };
}

async function unrecorded(): Promise<number | undefined> {
  return (await metrics.getSingleMetric('email_unrecorded_mails')?.get())?.values.find((v) => v.labels.mail === 'confirmation')?.value;
}

const quiet = { info: () => undefined, warn: () => undefined } as unknown as Logger;

function delivery(order: OrderCreated, eventId = order.eventId): InboundEvent<OrderCreated> {
  return { value: order, eventId, logger: quiet, correlationId: undefined, signal: new AbortController().signal } as unknown as InboundEvent<OrderCreated>;
}

describe('EmailHandlers', () => {
  it('a COMMIT lost after the 250 fails the delivery as a database outage, and the next delivery records without a second send', async () => {
    const db = fakeDatabase();
    const { mailer, sent } = fakeMailer();
    const handlers = new EmailHandlers(db.effects, mailer);
    const order = sampleOrder();
    db.commitFailures.push(terminated());
    const failure = await handlers.onOrderCreated(delivery(order)).then(
      () => undefined,
      (error: unknown) => error,
    );
    // The runtime holds the partition on such an error and delivers the same message again.
    expect(isDependencyUnavailable(failure)).toBe(true);
    expect(db.mailed.has(order.orderId)).toBe(false);
    expect(await unrecorded()).toBe(1);

    await handlers.onOrderCreated(delivery(order));
    expect(sent).toEqual([`<order-${order.orderId}@order-pipeline.local>`]);
    expect(db.mailed.has(order.orderId)).toBe(true);
    expect(db.claims.has(order.eventId)).toBe(true);
    expect(db.steps).toEqual([order.orderId]);
    expect(await unrecorded()).toBe(0);
  });

  it('a send that fails is not recorded, and the retry sends', async () => {
    const db = fakeDatabase();
    const order = sampleOrder();
    const failing = { send: async () => Promise.reject(new Error('SMTP send failed')) };
    await expect(new EmailHandlers(db.effects, failing).onOrderCreated(delivery(order))).rejects.toThrow('SMTP send failed');
    expect(db.mailed.has(order.orderId)).toBe(false);
    expect(db.claims.size).toBe(0);
    expect(db.steps).toEqual([]);
    const { mailer, sent } = fakeMailer();
    await new EmailHandlers(db.effects, mailer).onOrderCreated(delivery(order));
    expect(sent).toHaveLength(1);
    expect(db.mailed.has(order.orderId)).toBe(true);
  });

  it('another event id for an order whose mail went out unrecorded records it without sending; the first event then finds it recorded', async () => {
    const db = fakeDatabase();
    const { mailer, sent } = fakeMailer();
    const handlers = new EmailHandlers(db.effects, mailer);
    const order = sampleOrder();
    db.commitFailures.push(terminated());
    await expect(handlers.onOrderCreated(delivery(order))).rejects.toThrow('not queryable');

    await handlers.onOrderCreated(delivery(order, 'another-event'));
    await handlers.onOrderCreated(delivery(order));
    expect(sent).toHaveLength(1);
    expect(db.claims).toEqual(new Set(['another-event', order.eventId]));
    expect(db.steps).toEqual([order.orderId]);
  });

  it('another event id for an order recorded as sent sends nothing, and so does a redelivery', async () => {
    const db = fakeDatabase();
    const { mailer, sent } = fakeMailer();
    const handlers = new EmailHandlers(db.effects, mailer);
    const order = sampleOrder();
    await handlers.onOrderCreated(delivery(order));
    await handlers.onOrderCreated(delivery(order, 'another-event'));
    await handlers.onOrderCreated(delivery(order));
    expect(sent).toHaveLength(1);
    expect(db.claims).toEqual(new Set([order.eventId, 'another-event']));
    expect(db.steps).toEqual([order.orderId]);
  });
});
