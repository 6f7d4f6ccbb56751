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
}

export const settled = (verdict: Verdict) => verdict.lost === 0 && verdict.duplicated === 0;

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
 * unchanged per SKU, and reserved moved exactly as the RESERVED reservations did).
 */
export async function verdict(pool: pg.Pool, mailSinkUrl: string, domain: string, accepted: readonly Accepted[], before: StockSnapshot): Promise<Verdict> {
  const ids = accepted.map((a) => a.orderId);
  const { rows: orders } = await pool.query<{ id: string; status: string }>('SELECT id::text, status FROM orders WHERE id = ANY($1::uuid[])', [ids]);
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

  return {
    lost: pending + missingMails + missingRows,
    duplicated: extraMails + extraRows + stockBroken.length,
    pending,
    missingMails,
    extraMails,
    extraMailsSameMessageId,
    missingRows,
    extraRows,
    stockBroken,
  };
}
