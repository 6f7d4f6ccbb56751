import type { AnalyticsEvent } from '../../shared/schemas/catalog.js';

/** The columns every write names, in the order of a row's fields. */
export const columns = [
  'event_id',
  'event_type',
  'order_id',
  'customer_id',
  'sku',
  'quantity',
  'amount_cents',
  'currency',
  'occurred_at',
] as const;

/** One event as a line of PostgreSQL's COPY text format, ready to be streamed. */
export interface Row {
  readonly eventId: string;
  /** Tab-separated fields ending in a newline; never contains another newline. */
  readonly line: string;
  /** UTF-8 length of `line`: what the batch's byte budget counts. */
  readonly bytes: number;
}

const special = /[\\\t\n\r]/;
const specials = /[\\\t\n\r]/g;
const escapes: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** COPY text escaping: a field may hold any character but the four that delimit the format. */
function text(value: string): string {
  return special.test(value) ? value.replace(specials, (c) => escapes[c] ?? c) : value;
}

const NULL = '\\N';

/**
 * Throws a RangeError when `occurredAt` is no representable time; every other value problem is for
 * the database to judge (it is the authority on what the table accepts).
 */
export function toRow(event: AnalyticsEvent): Row {
  const line =
    `${text(event.eventId)}\t${event.eventType}\t${text(event.orderId)}\t${text(event.customerId)}\t` +
    `${event.sku === null ? NULL : text(event.sku)}\t${event.quantity === null ? NULL : event.quantity}\t` +
    `${event.amountCents}\t${text(event.currency)}\t${new Date(event.occurredAt).toISOString()}\n`;
  return { eventId: event.eventId, line, bytes: Buffer.byteLength(line) };
}

/** Joins rows into buffers of about `chunkBytes`: COPY is fastest fed a few large writes. */
export function toChunks(rows: readonly Row[], chunkBytes = 1 << 20): Buffer[] {
  const chunks: Buffer[] = [];
  let lines: string[] = [];
  let size = 0;
  for (const row of rows) {
    lines.push(row.line);
    size += row.bytes;
    if (size >= chunkBytes) {
      chunks.push(Buffer.from(lines.join('')));
      lines = [];
      size = 0;
    }
  }
  if (lines.length > 0) chunks.push(Buffer.from(lines.join('')));
  return chunks;
}
