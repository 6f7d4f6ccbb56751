import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { withTransaction, type Pool, type PoolClient } from '../../shared/db.js';
import { errorMessage } from '../../shared/errors.js';
import { RowRejectedError, StoreUnavailableError } from './errors.js';
import { columns } from './rows.js';

export const schemaSql = new URL('./schema.sql', import.meta.url);

const table = 'analytics_events';
const staging = 'analytics_events_staging';
const columnList = columns.join(', ');

/** A write failed because of some rows' values; `index` is the first bad row when PostgreSQL says which. */
export class RowsRejectedError extends RowRejectedError {
  constructor(
    sqlState: string,
    message: string,
    readonly index: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(sqlState, message, options);
  }
}

/** The direct COPY met an event id that is already stored: the batch is (partly) a replay. */
class ReplayDetected extends Error {}

interface PgErrorFields {
  code?: unknown;
  where?: unknown;
  constraint?: unknown;
}

function fields(error: unknown): PgErrorFields {
  return typeof error === 'object' && error !== null ? (error as PgErrorFields) : {};
}

/** A five-character SQLSTATE (Node's own errors carry codes like ECONNREFUSED instead). */
function sqlStateOf(error: unknown): string | undefined {
  const { code } = fields(error);
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** COPY reports the failing input line ("COPY analytics_events, line 42, column ..."): row 41. */
function failingRow(error: unknown, rows: number): number | undefined {
  const { where } = fields(error);
  const match = typeof where === 'string' ? /COPY [^,]+, line (\d+)/.exec(where) : null;
  const index = match ? Number(match[1]) - 1 : NaN;
  return Number.isInteger(index) && index >= 0 && index < rows ? index : undefined;
}

/**
 * SQLSTATE classes that describe the server or the schema, never one row: connection (08), invalid
 * transaction state (25), authorization (28, 42501), missing database (3D), rollback/deadlock (40),
 * syntax or missing object (42), insufficient resources (53), lock not available (55), operator
 * intervention and statement timeout (57), system error (58), configuration file (F0), internal (XX).
 */
const storeClasses = new Set(['08', '25', '28', '3D', '40', '42', '53', '55', '57', '58', 'F0', 'XX']);

/**
 * Whether a write's failure can be caused by the values of its rows although it is outside class
 * 22/23 (e.g. 54000, an index entry over the B-tree's size limit; P0001, a trigger's RAISE): it
 * carries a SQLSTATE (the server answered) of no class in storeClasses. Such a failure is still an
 * outage at first; only when it persists while the server answers a probe are rows isolated.
 */
export function mayBeRowsFault(error: StoreUnavailableError): boolean {
  return error.sqlState !== undefined && !storeClasses.has(error.sqlState.slice(0, 2));
}

/**
 * Data errors are the rows' fault (class 22 data exception, class 23 integrity violation); every
 * other failure (connection refused or reset, timeout, shutdown, too many connections, deadlock,
 * even a missing table) is the store's, and waiting is the answer: nothing reaches the DLQ for it.
 * (The batcher isolates rows past a persistent mayBeRowsFault failure: see MicroBatcher.)
 */
function classify(error: unknown, rows: number): Error {
  const sqlState = sqlStateOf(error);
  if (sqlState === '23505' && fields(error).constraint === `${table}_pkey`) return new ReplayDetected();
  if (sqlState?.startsWith('22') || sqlState?.startsWith('23')) {
    return new RowsRejectedError(sqlState, errorMessage(error), failingRow(error, rows), { cause: error });
  }
  return new StoreUnavailableError(
    `analytics store unavailable: ${sqlState ? `${sqlState} ` : ''}${errorMessage(error)}`,
    { cause: error },
    sqlState,
  );
}

export interface StoreOptions {
  /** Server-side bound on each statement: a hung write becomes a retriable timeout. */
  statementTimeoutMs: number;
}

export interface WriteResult {
  /** Rows new to the table; the rest were stored before (a replay). */
  inserted: number;
}

/**
 * Writes rows into analytics_events in one transaction each call, idempotently by event id.
 *
 * The common case is a straight COPY into the table, as fast as PostgreSQL ingests. A batch that
 * replays stored events (after a crash or a rebalance) makes that COPY fail on the primary key; it
 * is then written through a staging temp table and INSERT ... ON CONFLICT (event_id) DO NOTHING,
 * and later batches take that path too until one of them holds no replayed event.
 */
export class AnalyticsStore {
  private replaying = false;

  constructor(
    private readonly pool: Pool,
    private readonly options: StoreOptions,
  ) {}

  /**
   * Writes the rows in `chunks` (COPY text, `rows` lines). Throws RowsRejectedError when PostgreSQL rejects a row's values (nothing of the call is
   * written), StoreUnavailableError for anything else.
   */
  async write(chunks: readonly Buffer[], rows: number): Promise<WriteResult> {
    if (rows === 0) return { inserted: 0 };
    if (!this.replaying) {
      try {
        return await this.transaction(rows, (client) => this.copyDirect(client, chunks, rows));
      } catch (error) {
        if (!(error instanceof ReplayDetected)) throw error;
        this.replaying = true;
      }
    }
    const result = await this.transaction(rows, (client) => this.copyStaged(client, chunks));
    if (result.inserted === rows) this.replaying = false;
    return result;
  }

  /** Whether the server answers a trivial query now (a failing write is then not an outage). */
  async probe(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /** One transaction (shared withTransaction: rollback, broken connections discarded), its failure classified. */
  private async transaction(rows: number, work: (client: PoolClient) => Promise<WriteResult>): Promise<WriteResult> {
    try {
      return await withTransaction(this.pool, async (client) => {
        await client.query(`SET LOCAL statement_timeout = ${Math.round(this.options.statementTimeoutMs)}`);
        return work(client);
      });
    } catch (error) {
      // A failed COMMIT leaves the outcome unknown; the retry is safe either way (idempotent).
      throw classify(error, rows);
    }
  }

  private async copyDirect(client: PoolClient, chunks: readonly Buffer[], rows: number): Promise<WriteResult> {
    await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY ${table} (${columnList}) FROM STDIN`)));
    return { inserted: rows };
  }

  private async copyStaged(client: PoolClient, chunks: readonly Buffer[]): Promise<WriteResult> {
    // The staging table carries the table's CHECKs, so bad values fail in COPY, which names the line.
    await client.query(
      `CREATE TEMP TABLE IF NOT EXISTS ${staging} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) ON COMMIT DELETE ROWS`,
    );
    await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY ${staging} (${columnList}) FROM STDIN`)));
    const inserted = await client.query(
      `INSERT INTO ${table} (${columnList}) SELECT ${columnList} FROM ${staging} ON CONFLICT (event_id) DO NOTHING`,
    );
    return { inserted: inserted.rowCount ?? 0 };
  }
}
