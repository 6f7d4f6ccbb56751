import { to as copyTo } from 'pg-copy-streams';
import type { Pool, PoolClient } from '../db.js';

/** A run of rows read by copyChunks: their CSV records, the last row's key, and whether the rows ended. */
export interface CopiedChunk {
  rows: number;
  /** The rows as CSV records, each ending in CRLF (RFC 4180), bytes as PostgreSQL wrote them otherwise. */
  data: Buffer;
  /** The last row's key (its first fields, unquoted); undefined when the chunk has no rows. */
  key: string[] | undefined;
  /** No row follows: the statement ended on its own. */
  last: boolean;
}

export interface CopyChunksOptions {
  /**
   * The statement from a key on: a SELECT whose first `keyColumns` columns are a unique key it is
   * ordered by, of the rows strictly after `after` (undefined: from the first). It runs inside
   * COPY, so values are inlined as literals (no parameters).
   */
  statement: (after: readonly string[] | undefined) => string;
  keyColumns: number;
  after: readonly string[] | undefined;
  limit: number;
  /**
   * How long one statement streams rows (counted from its first row, after any sort) before it is
   * ended after a chunk and a new one continues from the last key: a statement holds its snapshot
   * (vacuum held back) and its tables' share locks (DDL waits behind it) for as long as it runs,
   * while each new one pays its start (a sort of the rest) again.
   */
  windowMs: number;
  signal: AbortSignal;
}

const QUOTE = 0x22;
const LF = 0x0a;
const COMMA = 0x2c;
const CRLF = Buffer.from('\r\n');

/**
 * Chunks of `limit` rows of one statement, streamed by PostgreSQL's own
 * `COPY (…) TO STDOUT (FORMAT csv)`: the server runs the ordered read once (not a keyset page per
 * chunk) and writes the CSV itself; here records are only cut apart (a line feed outside quotes
 * ends one) and end in CRLF. The next chunk is read while the caller works on the last one (the
 * stream's back-pressure bounds how far ahead).
 */
export async function* copyChunks(pool: Pool, options: CopyChunksOptions): AsyncGenerator<CopiedChunk> {
  let after = options.after;
  for (;;) {
    let ended = false;
    for await (const chunk of statementChunks(pool, options.statement(after), options)) {
      if (chunk.key) after = chunk.key;
      ended = chunk.last;
      if (chunk.last || chunk.rows > 0) yield chunk;
    }
    if (ended) return;
  }
}

/** The first `count` fields of the CSV record at [start, end), unquoted. */
function fieldsOf(buffer: Buffer, start: number, end: number, count: number): string[] {
  const values: string[] = [];
  let at = start;
  for (let f = 0; f < count && at <= end; f++) {
    if (buffer[at] === QUOTE) {
      let value = '';
      let from = at + 1;
      for (;;) {
        const quote = buffer.indexOf(QUOTE, from);
        value += buffer.toString('utf8', from, quote);
        if (buffer[quote + 1] === QUOTE) {
          value += '"';
          from = quote + 2;
        } else {
          at = quote + 2;
          break;
        }
      }
      values.push(value);
    } else {
      let comma = buffer.indexOf(COMMA, at);
      if (comma < 0 || comma > end) comma = end;
      values.push(buffer.toString('utf8', at, comma));
      at = comma + 1;
    }
  }
  return values;
}

/** One statement's chunks; stops after a full chunk once its window has passed (the last chunk then says last: false). */
async function* statementChunks(pool: Pool, sql: string, options: CopyChunksOptions): AsyncGenerator<CopiedChunk> {
  const { keyColumns, limit, signal, windowMs } = options;
  let firstRowAt: number | undefined;
  signal.throwIfAborted();
  const client: PoolClient = await pool.connect();
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT (FORMAT csv)`));
  // Its errors reach the reading loop; one after the loop ended (the connection closed) is expected.
  stream.on('error', () => undefined);
  const abort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal.addEventListener('abort', abort, { once: true });
  let lastChunk: CopiedChunk | undefined;
  let complete = false;
  try {
    // Bytes of a record not yet ended, from the last data; whether the scan is inside quotes there.
    let pending: Buffer = Buffer.alloc(0);
    let quoted = false;
    let parts: Buffer[] = [];
    let rows = 0;
    // The last record, its key read only when a chunk goes out.
    let lastBuffer: Buffer | undefined;
    let lastStart = 0;
    let lastEnd = 0;
    const chunk = (last: boolean): CopiedChunk => ({
      rows,
      data: Buffer.concat(parts),
      key: lastBuffer ? fieldsOf(lastBuffer, lastStart, lastEnd, keyColumns) : undefined,
      last,
    });
    for await (const data of stream as AsyncIterable<Buffer>) {
      const buffer = pending.length > 0 ? Buffer.concat([pending, data]) : data;
      // Where the scan goes on: past the pending bytes already scanned.
      let at = pending.length;
      let start = 0;
      // The next quote at or after `at` (-1: none in this buffer), looked up again only once passed.
      let nextQuote = -2;
      for (;;) {
        if (nextQuote !== -1 && nextQuote < at) nextQuote = buffer.indexOf(QUOTE, at);
        if (quoted) {
          if (nextQuote < 0) break;
          quoted = false;
          at = nextQuote + 1;
          continue;
        }
        const lineFeed = buffer.indexOf(LF, at);
        if (lineFeed >= 0 && (nextQuote < 0 || lineFeed < nextQuote)) {
          // A full chunk goes out once another record shows it is not the last.
          if (rows === limit) {
            yield chunk(false);
            parts = [];
            rows = 0;
            if (performance.now() - firstRowAt! >= windowMs) return;
          }
          firstRowAt ??= performance.now();
          parts.push(buffer.subarray(start, lineFeed), CRLF);
          lastBuffer = buffer;
          lastStart = start;
          lastEnd = lineFeed;
          rows++;
          start = at = lineFeed + 1;
          continue;
        }
        if (nextQuote < 0) break;
        quoted = true;
        at = nextQuote + 1;
      }
      pending = buffer.subarray(start);
    }
    if (pending.length > 0) throw new Error('COPY csv: the stream ended inside a record');
    complete = true;
    lastChunk = chunk(true);
  } finally {
    signal.removeEventListener('abort', abort);
    if (complete) client.release();
    else {
      // Ended early (a window, an abort, an error): the statement may still be sending; the
      // connection is closed, which ends it on the server.
      stream.destroy();
      client.release(new Error('COPY ended early'));
    }
  }
  // Given out after the connection went back to the pool: the caller may keep the last chunk as long as it likes.
  if (lastChunk) yield lastChunk;
}
