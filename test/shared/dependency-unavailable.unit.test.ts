import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPool } from '../../shared/db.js';
import { databaseConnectFailure, isDependencyUnavailable } from '../../shared/dependency-unavailable.js';
import { DependencyUnavailableError, PermanentError, TransientError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { freePort } from '../support/processes.js';

const logger = createLogger('classifier-test');
logger.level = 'silent';

/** An error as node-postgres or Node hands it over: a message and a code. */
const coded = (code: string, message = `failed with ${code}`) => Object.assign(new Error(message), { code });

describe('isDependencyUnavailable', () => {
  it('says yes to the named class, whatever it wraps', () => {
    expect(isDependencyUnavailable(new DependencyUnavailableError('SMTP server unavailable'))).toBe(true);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])('says yes to a network error %s', (code) => {
    expect(isDependencyUnavailable(coded(code))).toBe(true);
  });

  it.each(['08000', '08001', '08003', '08006', '57P01', '57P02', '57P03'])('says yes to PostgreSQL SQLSTATE %s (connection, shutdown, starting up)', (code) => {
    expect(isDependencyUnavailable(coded(code))).toBe(true);
  });

  it.each([
    ['23505', 'a unique violation'],
    ['22P02', 'invalid text for a type'],
    ['40P01', 'a deadlock'],
    ['57014', 'a statement timeout'],
    ['55000', 'an object not in the prerequisite state, from a statement'],
    ['54000', 'a program limit (an index row too large)'],
    ['42P01', 'a missing table'],
  ])('says no to SQLSTATE %s, %s: the statement failed, the server is there', (code) => {
    expect(isDependencyUnavailable(coded(code))).toBe(false);
  });

  it("says yes to node-postgres' errors without a code for a connection that is gone", () => {
    expect(isDependencyUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDependencyUnavailable(new Error('Connection terminated due to connection timeout'))).toBe(true);
    expect(isDependencyUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
  });

  it('looks into causes and aggregated errors (fetch failures, connection attempts to several addresses)', () => {
    expect(isDependencyUnavailable(new TypeError('fetch failed', { cause: coded('ECONNREFUSED') }))).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDependencyUnavailable(new AggregateError([new Error('a'), coded('EHOSTUNREACH')]))).toBe(true);
    expect(isDependencyUnavailable(new TransientError('lost the connection', { cause: coded('57P01') }))).toBe(true);
  });

  it('says no to what fails for the message, and to an error that declares itself permanent', () => {
    expect(isDependencyUnavailable(new TransientError('try again'))).toBe(false);
    expect(isDependencyUnavailable(new Error('boom'))).toBe(false);
    expect(isDependencyUnavailable(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(isDependencyUnavailable(new PermanentError('unknown order', { cause: coded('ECONNREFUSED') }))).toBe(false);
    expect(isDependencyUnavailable('ECONNREFUSED')).toBe(false);
    expect(isDependencyUnavailable(undefined)).toBe(false);
  });

  it('does not follow a cause chain for ever', () => {
    const looped: Error & { cause?: unknown } = new Error('outer');
    looped.cause = looped;
    expect(isDependencyUnavailable(looped)).toBe(false);
  });
});

describe('a pool that cannot hand out a connection', () => {
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('fails with DependencyUnavailableError when the server refuses, for connect() and for query()', async () => {
    const pool = createPool(`postgres://u:secret@127.0.0.1:${await freePort()}/db`, logger);
    try {
      const connecting = pool.connect();
      await expect(connecting).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(connecting).rejects.toThrow(/database connection failed: ECONNREFUSED/);
      await expect(pool.query('SELECT 1')).rejects.toBeInstanceOf(DependencyUnavailableError);
    } finally {
      await pool.end();
    }
  });

  it('fails with DependencyUnavailableError when the connection times out (a server that never answers)', async () => {
    server = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const pool = createPool(`postgres://u:secret@127.0.0.1:${port}/db`, logger, { connectionTimeoutMillis: 100 });
    try {
      const error = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect(isDependencyUnavailable(error)).toBe(true);
      // The password never reaches the message.
      expect(String((error as Error).message)).not.toContain('secret');
    } finally {
      await pool.end();
    }
  });

  it('keeps the original error as the cause, and does not wrap twice', () => {
    const original = coded('55000', 'database "x" is not currently accepting connections');
    const wrapped = databaseConnectFailure(original);
    expect(wrapped.cause).toBe(original);
    expect(wrapped.message).toBe('database connection failed: 55000 database "x" is not currently accepting connections');
    expect(databaseConnectFailure(wrapped)).toBe(wrapped);
  });
});
