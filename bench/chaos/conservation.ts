import type pg from 'pg';
import type { Accepted } from './load.js';

/** Per SKU: what stock and reservations say, to compare before and after a run. */
export interface StockSnapshot {
  /** available + reserved: changes only when someone restocks. */
  total: Map<string, number>;
  reserved: Map<string, number>;
  /** Sum of RESERVED reservations: must move exactly as `reserved` does. */
  held: Map<string, number>;
}

export async function stockSnapshot(pool: pg.Pool): Promise<StockSnapshot> {
  const { rows } = await pool.query<{ sku: string; total: number; reserved: number; held: number }>(
    `SELECT s.sku, s.available + s.reserved AS total, s.reserved,
            COALESCE((SELECT sum(r.quantity) FROM stock_reservations r WHERE r.sku = s.sku AND r.status = 'RESERVED'), 0)::int AS held
       FROM stock s`,
  );
  return {
    total: new Map(rows.map((r) => [r.sku, r.total])),
    reserved: new Map(rows.map((r) => [r.sku, r.reserved])),
    held: new Map(rows.map((r) => [r.sku, r.held])),
  };
}

export interface Verdict {
  /** Accepted orders without a final status, mails or analytics rows that never came. */
  lost: number;
  /** Effects more than once: second mails, analytics rows twice, stock that moved without a reservation. */
  duplicated: number;
  /** Orders not CONFIRMED or REJECTED (yet). */
  pending: number;
  missingMails: number;
  extraMails: number;
  /**
   * Of extraMails, those with the first one's Message-ID: the email service's documented crash
   * window (killed between the SMTP server's 250 and its COMMIT), foldable by mail clients.
   */
  extraMailsSameMessageId: number;
  missingRows: number;
  extraRows: number;
  /** SKUs whose stock does not add up. */
  stockBroken: string[];
  /**
   * Orders whose money does not add up in the provider's records: a CONFIRMED order not captured
   * exactly once (or refunded), another order with a capture, or an authorization left held.
   */
  moneyBroken: string[];
  /** Captured − refunded over the accepted orders, and the sum of the CONFIRMED orders' totals: equal when the money is conserved. */
  capturedMinusRefundedCents: number;
  confirmedTotalCents: number;
}

interface ProviderCharge {
  reference: string;
  amountCents: number;
  status: string;
  operations: Array<{ type: string }>;
}

/** The provider simulator's charges of these orders, from its own records (GET /v1/charges). */
async function chargesByOrder(providerUrl: string, ids: ReadonlySet<string>): Promise<Map<string, ProviderCharge[]>> {
  const response = await fetch(`${providerUrl.replace(/\/+$/, '')}/v1/charges`);
  if (!response.ok) throw new Error(`provider charges: ${response.status}`);
  const byOrder = new Map<string, ProviderCharge[]>();
  for (const charge of ((await response.json()) as { data: ProviderCharge[] }).data) {
    if (ids.has(charge.reference)) byOrder.set(charge.reference, [...(byOrder.get(charge.reference) ?? []), charge]);
  }
  return byOrder;
}

export const settled = (verdict: Verdict) =>
  verdict.lost === 0 && verdict.duplicated === 0 && verdict.capturedMinusRefundedCents === verdict.confirmedTotalCents;

interface MailPage {
  messages: Array<{ Subject: string; MessageID: string }>;
  messages_count: number;
}

/** Every mail sent to `@domain` (the Mailpit-like API of the stack's mail sink). */
async function mailsTo(mailSinkUrl: string, domain: string): Promise<MailPage['messages']> {
  const subjects: MailPage['messages'] = [];
  for (let start = 0; ; ) {
    const url = `${mailSinkUrl.replace(/\/+$/, '')}/api/v1/search?query=${encodeURIComponent(`to:"@${domain}"`)}&start=${start}&limit=500`;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    const page = (await response.json()) as MailPage;
    subjects.push(...page.messages);
    start += page.messages.length;
    if (page.messages.length === 0 || start >= page.messages_count) return subjects;
  }
}

/**
 * Checks the stores, not logs: every accepted order final; exactly one confirmation mail each;
 * analytics rows = 2 per order + 1 per line, none twice; stock conserved (available + reserved
 * unchanged per SKU, and reserved moved exactly as the RESERVED reservations did); money conserved
 * in the provider's records (captured − refunded = the CONFIRMED orders' totals, each CONFIRMED
 * order captured once, no REJECTED order captured or left authorized).
 */
export async function verdict(
  pool: pg.Pool,
  mailSinkUrl: string,
  domain: string,
  accepted: readonly Accepted[],
  before: StockSnapshot,
  providerUrl?: string,
): Promise<Verdict> {
  const ids = accepted.map((a) => a.orderId);
  const { rows: orders } = await pool.query<{ id: string; status: string; total_cents: string }>(
    'SELECT id::text, status, total_cents FROM orders WHERE id = ANY($1::uuid[])',
    [ids],
  );
  const final = new Set(orders.filter((o) => o.status === 'CONFIRMED' || o.status === 'REJECTED').map((o) => o.id));
  const pending = ids.filter((id) => !final.has(id)).length;

  const mails = new Map<string, string[]>();
  for (const mail of await mailsTo(mailSinkUrl, domain)) mails.set(mail.Subject, [...(mails.get(mail.Subject) ?? []), mail.MessageID]);
  let missingMails = 0;
  let extraMails = 0;
  let extraMailsSameMessageId = 0;
  for (const id of ids) {
    const messageIds = mails.get(`Order ${id} received`) ?? [];
    if (messageIds.length === 0) missingMails++;
    extraMails += Math.max(0, messageIds.length - 1);
    extraMailsSameMessageId += messageIds.slice(1).filter((messageId) => messageId === messageIds[0]).length;
  }

  const { rows: facts } = await pool.query<{ order_id: string; n: number; distinct_n: number }>(
    `SELECT order_id, count(*)::int AS n, count(DISTINCT (event_type, COALESCE(sku, '')))::int AS distinct_n
       FROM analytics_events WHERE order_id = ANY($1::text[]) GROUP BY order_id`,
    [ids],
  );
  const byOrder = new Map(facts.map((f) => [f.order_id, f]));
  let missingRows = 0;
  let extraRows = 0;
  for (const { orderId, lines } of accepted) {
    const fact = byOrder.get(orderId);
    const wanted = 2 + lines;
    missingRows += Math.max(0, wanted - (fact?.distinct_n ?? 0));
    extraRows += (fact?.n ?? 0) - (fact?.distinct_n ?? 0);
  }

  const after = await stockSnapshot(pool);
  const stockBroken = [...after.total.keys()].filter((sku) => {
    const totalSame = after.total.get(sku) === (before.total.get(sku) ?? after.total.get(sku));
    const reservedMoved = (after.reserved.get(sku) ?? 0) - (before.reserved.get(sku) ?? 0);
    const heldMoved = (after.held.get(sku) ?? 0) - (before.held.get(sku) ?? 0);
    return !totalSame || reservedMoved !== heldMoved;
  });

  // Money: captured − refunded = the CONFIRMED orders' totals, and per order the provider agrees with the status.
  const moneyBroken: string[] = [];
  let capturedMinusRefundedCents = 0;
  let confirmedTotalCents = 0;
  if (providerUrl) {
    const charges = await chargesByOrder(providerUrl, new Set(ids));
    for (const order of orders) {
      const count = (type: string) => (charges.get(order.id) ?? []).flatMap((c) => c.operations).filter((o) => o.type === type).length;
      const amount = Number(order.total_cents);
      capturedMinusRefundedCents += (count('capture') - count('refund')) * amount;
      if (order.status === 'CONFIRMED') confirmedTotalCents += amount;
      const held = (charges.get(order.id) ?? []).some((c) => c.status === 'authorized');
      const right =
        order.status === 'CONFIRMED'
          ? count('capture') === 1 && count('refund') === 0 && count('authorize') === 1
          : order.status === 'REJECTED'
            ? count('capture') === 0 && !held && count('authorize') <= 1
            : true;
      if (!right) moneyBroken.push(order.id);
    }
  }

  return {
    lost: pending + missingMails + missingRows,
    duplicated: extraMails + extraRows + stockBroken.length + moneyBroken.length,
    pending,
    missingMails,
    extraMails,
    extraMailsSameMessageId,
    missingRows,
    extraRows,
    stockBroken,
    moneyBroken,
    capturedMinusRefundedCents,
    confirmedTotalCents,
  };
}
