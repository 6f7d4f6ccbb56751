import { to as copyTo } from 'pg-copy-streams';
import type { Pool, PoolClient } from '../db.js';

/** A run of rows read by copyChunks: their output bytes, the last row's key, and whether the rows ended. */
export interface CopiedChunk {
  rows: number;
  /** The rows' output columns, concatenated (bytes as PostgreSQL sent them). */
  data: Buffer;
  /** The last row's key columns as text; undefined when the chunk has no rows. */
  key: string[] | undefined;
  /** No row follows: the statement ended on its own. */
  last: boolean;
}

export interface CopyChunksOptions {
  /**
   * The statement from a key on: SELECT <key columns as text>, <output column> … ORDER BY the key,
   * the rows strictly after `after` (undefined: from the first). It runs inside COPY, so values
   * are inlined as literals (no parameters).
   */
  statement: (after: readonly string[] | undefined) => string;
  /** The leading columns that make the key; the one column after them is the output. */
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

const signature = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Chunks of `limit` rows read by one statement streamed with COPY … (FORMAT binary): the server
 * runs the ordered read once (a sort or a merge join over the whole range), not a keyset page per
 * chunk, and its rows reach the caller as bytes, never decoded. The next chunk is read while the
 * caller works on the last one (the stream's back-pressure bounds how far ahead).
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

/** One statement's chunks; stops after a full chunk once its window has passed (the last chunk then says last: false). */
async function* statementChunks(pool: Pool, sql: string, options: CopyChunksOptions): AsyncGenerator<CopiedChunk> {
  const { keyColumns, limit, signal, windowMs } = options;
  let firstRowAt: number | undefined;
  signal.throwIfAborted();
  const client: PoolClient = await pool.connect();
  let finished = false;
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT (FORMAT binary)`));
  // Its errors reach the reading loop; one after the loop ended (the connection closed) is expected.
  stream.on('error', () => undefined);
  let lastChunk: CopiedChunk | undefined;
  const abort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal.addEventListener('abort', abort, { once: true });
  try {
    let pending: Buffer = Buffer.alloc(0);
    let headerRead = false;
    let parts: Buffer[] = [];
    let rows = 0;
    // The last row's key, decoded only when a chunk goes out.
    let lastBuffer: Buffer | undefined;
    let lastAt = 0;
    const key = (): string[] | undefined => {
      if (!lastBuffer) return undefined;
      const values: string[] = [];
      let field = lastAt + 2;
      for (let f = 0; f < keyColumns; f++) {
        const length = lastBuffer.readInt32BE(field);
        values.push(lastBuffer.toString('utf8', field + 4, field + 4 + length));
        field += 4 + length;
      }
      return values;
    };
    for await (const data of stream as AsyncIterable<Buffer>) {
      // Read to the stream's own end after the trailer: the connection is handed back only then.
      if (finished) continue;
      let buffer = pending.length > 0 ? Buffer.concat([pending, data]) : data;
      let at = 0;
      if (!headerRead) {
        if (buffer.length < 19) {
          pending = buffer;
          continue;
        }
        if (!buffer.subarray(0, 11).equals(signature)) throw new Error('COPY binary: unexpected signature');
        at = 19 + buffer.readInt32BE(15);
        headerRead = true;
      }
      for (;;) {
        if (buffer.length - at < 2) break;
        const fields = buffer.readInt16BE(at);
        if (fields === -1) {
          finished = true;
          lastChunk = { rows, data: Buffer.concat(parts), key: key(), last: true };
          break;
        }
        // A whole row: its fields' lengths and bytes all here.
        let end = at + 2;
        let complete = true;
        for (let f = 0; f < fields; f++) {
          if (buffer.length - end < 4) {
            complete = false;
            break;
          }
          const length = buffer.readInt32BE(end);
          end += 4 + Math.max(0, length);
          if (end > buffer.length) {
            complete = false;
            break;
          }
        }
        if (!complete) break;
        if (fields !== keyColumns + 1) throw new Error(`COPY binary: ${fields} columns, expected ${keyColumns + 1}`);
        // A full chunk goes out once another row shows it is not the last.
        if (rows === limit) {
          yield { rows, data: Buffer.concat(parts), key: key(), last: false };
          parts = [];
          rows = 0;
          if (performance.now() - firstRowAt! >= windowMs) return;
        }
        firstRowAt ??= performance.now();
        let field = at + 2;
        for (let f = 0; f < keyColumns; f++) field += 4 + buffer.readInt32BE(field);
        const length = buffer.readInt32BE(field);
        if (length > 0) parts.push(buffer.subarray(field + 4, field + 4 + length));
        lastBuffer = buffer;
        lastAt = at;
        rows++;
        at = end;
      }
      pending = buffer.subarray(at);
      buffer = pending;
    }
    if (!finished) throw new Error('COPY binary: the stream ended without its trailer');
  } finally {
    signal.removeEventListener('abort', abort);
    if (finished && stream.readableEnded) client.release();
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
