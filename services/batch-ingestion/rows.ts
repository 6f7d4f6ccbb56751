import type { AnalyticsEvent } from '../../shared/schemas/catalog.js';

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
] as const;

const special = /[\\\t\n\r]/;
const specials = /[\\\t\n\r]/g;
const escapes: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** COPY text escaping: a field may hold any character but the four that delimit the format. */
function text(value: string): string {
  return special.test(value) ? value.replace(specials, (c) => escapes[c] ?? c) : value;
}

const NULL = '\\N';

/** "000" to "999": milliseconds as three digits without padding work per row. */
const millis = Array.from({ length: 1000 }, (_, ms) => String(ms).padStart(3, '0'));
let cachedSecond = NaN;
let cachedPrefix = '';

/**
 * An epoch-millisecond time as ISO 8601 in UTC. Events of a batch share their second more often
 * than not, and a Date per row is a large share of a row's cost: the "YYYY-MM-DDTHH:MM:SS" part is
 * reused while the second stays the same. Throws a RangeError for a time Date cannot represent.
 */
function isoTime(epochMs: number): string {
  // Date's own range (±100,000,000 days): the cached prefix must not carry a time past it.
  if (!Number.isInteger(epochMs) || Math.abs(epochMs) > 8.64e15) throw new RangeError(`invalid time value ${epochMs}`);
  const second = Math.floor(epochMs / 1000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, -5);
    cachedSecond = second;
  }
  return `${cachedPrefix}.${millis[epochMs - second * 1000]}Z`;
}

/**
 * One event as a line of PostgreSQL's COPY text format: tab-separated, ending in its only newline.
 * Throws a RangeError when `occurredAt` is no representable time; every other value is for the
 * database to judge (it is the authority on what the table accepts).
 */
export function toLine(event: AnalyticsEvent): string {
  return (
    `${text(event.eventId)}\t${event.eventType}\t${text(event.orderId)}\t${text(event.customerId)}\t` +
    `${event.sku === null ? NULL : text(event.sku)}\t${event.quantity === null ? NULL : event.quantity}\t` +
    `${event.amountCents}\t${text(event.currency)}\t${isoTime(event.occurredAt)}\n`
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
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    total += Buffer.byteLength(lines[i]!);
    offsets[i + 1] = total;
  }
  const buffer = Buffer.allocUnsafe(total);
  for (let i = 0; i < lines.length; i++) buffer.write(lines[i]!, offsets[i]!);
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
