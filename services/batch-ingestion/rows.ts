import type { AnalyticsEvent } from '../../shared/contracts/schemas.js';

/** The columns every write names, in the order of a line's fields. */
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
  'client_id',
] as const;

const special = /[\\\t\n\r]/;
const specials = /[\\\t\n\r]/g;
const escapes: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** COPY text escaping: a field may hold any character but the four that delimit the format. */
function text(value: string): string {
  return special.test(value) ? value.replace(specials, (c) => escapes[c] ?? c) : value;
}

const NULL = '\\N';

/** "00" to "99" and "000" to "999": time fields as digits without padding work per row. */
const twoDigits = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const threeDigits = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
const DAY_MS = 86_400_000;
let cachedDay = NaN;
let cachedDayPrefix = '';

/**
 * An epoch-millisecond time as ISO 8601 in UTC, as Date#toISOString writes it. A Date per row was a
 * large share of a row's cost: the "YYYY-MM-DDT" part is kept while the day stays the same (UTC
 * has no leap seconds in epoch time, so the rest is arithmetic). Throws a RowValueError where Date
 * throws a RangeError.
 */
function isoTime(epochMs: number): string {
  if (!Number.isInteger(epochMs) || Math.abs(epochMs) > 8.64e15) {
    throw new RowValueError('22008', `occurredAt ${epochMs} is not a representable time`);
  }
  const day = Math.floor(epochMs / DAY_MS);
  if (day !== cachedDay) {
    cachedDayPrefix = new Date(day * DAY_MS).toISOString().slice(0, -13);
    cachedDay = day;
  }
  let rest = epochMs - day * DAY_MS;
  const ms = rest % 1000;
  rest = (rest - ms) / 1000;
  const s = rest % 60;
  rest = (rest - s) / 60;
  return `${cachedDayPrefix}${twoDigits[(rest - (rest % 60)) / 60]}:${twoDigits[rest % 60]}:${twoDigits[s]}.${threeDigits[ms]}Z`;
}

/**
 * A value no row may hold, found before the database sees it; `sqlState` is the code PostgreSQL
 * would give its class (22: data exception).
 */
export class RowValueError extends RangeError {
  constructor(
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
    this.name = 'RowValueError';
  }
}

/**
 * The longest text field a row may hold, in UTF-8 bytes. Ids are UUIDs or short derivations of
 * them (under 100 bytes); the key's B-tree takes entries up to about 2.7 kB, and a longer event id
 * fails the whole COPY with 54000, outside the data-error classes. Bounding every field keeps such a
 * row a data error of its own, and a report's strings small.
 */
export const maxFieldBytes = 1024;

const textFields = ['eventId', 'orderId', 'customerId', 'sku', 'currency', 'clientId'] as const;

function checkLengths(event: AnalyticsEvent): void {
  for (const field of textFields) {
    const value = event[field];
    // Characters bound bytes from below: the byte count is needed only for long values.
    if (value !== null && value.length * 3 > maxFieldBytes && Buffer.byteLength(value) > maxFieldBytes) {
      throw new RowValueError('22001', `${field} is ${Buffer.byteLength(value)} bytes long, over the limit of ${maxFieldBytes}`);
    }
  }
}

/**
 * One event as a line of PostgreSQL's COPY text format: tab-separated, ending in its only newline.
 * Throws a RowValueError (a RangeError) when `occurredAt` is no representable time or a text field
 * is longer than maxFieldBytes; every other value is for the database to judge (it is the
 * authority on what the table accepts).
 */
export function toLine(event: AnalyticsEvent): string {
  checkLengths(event);
  return (
    `${text(event.eventId)}\t${event.eventType}\t${text(event.orderId)}\t${text(event.customerId)}\t` +
    `${event.sku === null ? NULL : text(event.sku)}\t${event.quantity === null ? NULL : event.quantity}\t` +
    `${event.amountCents}\t${text(event.currency)}\t${isoTime(event.occurredAt)}\t${event.clientId === null ? NULL : text(event.clientId)}\n`
  );
}

/**
 * Lines in one buffer: row i is buffer[offsets[i], offsets[i + 1]). A batch is kept this way from
 * the moment it arrives, not as a string per row: the per-row strings die young, and what waits for
 * the flush is one block of bytes, ready to be streamed to COPY as it is.
 */
export interface RowBlock {
  readonly buffer: Buffer;
  readonly offsets: Uint32Array;
}

export function encodeBlock(lines: readonly string[]): RowBlock {
  const offsets = new Uint32Array(lines.length + 1);
  const text = lines.join('');
  // One UTF-8 pass for the whole block. It has as many bytes as characters only when every
  // character is ASCII (the usual case); then the lines' lengths are their byte lengths.
  const buffer = Buffer.from(text);
  const ascii = buffer.length === text.length;
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    total += ascii ? lines[i]!.length : Buffer.byteLength(lines[i]!);
    offsets[i + 1] = total;
  }
  return { buffer, offsets };
}

/** The blocks of one flush, addressed by row number across all of them. */
export class RowSet {
  readonly count: number;
  private readonly starts: number[] = [];

  constructor(private readonly blocks: readonly RowBlock[]) {
    let count = 0;
    for (const block of blocks) {
      this.starts.push(count);
      count += block.offsets.length - 1;
    }
    this.count = count;
  }

  /** The COPY data of rows [start, end): views into the blocks, nothing copied. */
  chunks(start: number, end: number): Buffer[] {
    const chunks: Buffer[] = [];
    for (let b = 0; b < this.blocks.length; b++) {
      const block = this.blocks[b]!;
      const first = this.starts[b]!;
      const rows = block.offsets.length - 1;
      const from = Math.max(start - first, 0);
      const to = Math.min(end - first, rows);
      if (from < to) chunks.push(block.buffer.subarray(block.offsets[from], block.offsets[to]));
    }
    return chunks;
  }
}
