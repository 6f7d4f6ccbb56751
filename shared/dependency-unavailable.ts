/**
 * The one place that decides whether a failure says "a dependency is unavailable" rather than "this
 * message failed": the consumer runtime holds the partition and retries the same message for the
 * first (consumer/dependency-outage.ts), and spends one of the message's attempts only on the second.
 * Services throw DependencyUnavailableError for their own clients (the mailer for SMTP); the
 * PostgreSQL driver's and Node's network errors are recognised here.
 */
import { DependencyUnavailableError, PipelineError, errorMessage } from './errors.js';

/** Node's error codes for a peer that cannot be reached or went away. */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * PostgreSQL's SQLSTATEs for a server that is not there for anyone: connection exceptions (class 08)
 * and the server shutting down or starting (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 * cannot_connect_now). A statement's own errors (data, constraints, locks, timeouts) are not among them.
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/** What node-postgres says, without a code, when its connection is gone or was never made. */
const pgConnectionMessages = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];

const maxCauseDepth = 5;

/**
 * True when `error`, or an error it wraps (`cause`, an AggregateError's errors), says that a system
 * the work needs cannot be reached now. An error that declares itself not retriable never is.
 */
export function isDependencyUnavailable(error: unknown, depth = 0): boolean {
  if (error instanceof DependencyUnavailableError) return true;
  if (typeof error !== 'object' || error === null || depth > maxCauseDepth) return false;
  if (error instanceof PipelineError && !error.retriable) return false;
  const code = 'code' in error ? error.code : undefined;
  if (typeof code === 'string') {
    if (networkCodes.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && isUnavailableSqlState(code)) return true;
  }
  if (error instanceof Error && code === undefined && pgConnectionMessages.some((text) => error.message.startsWith(text))) return true;
  if (error instanceof AggregateError && error.errors.some((inner) => isDependencyUnavailable(inner, depth + 1))) return true;
  return 'cause' in error && isDependencyUnavailable(error.cause, depth + 1);
}

/**
 * The error for a database connection that could not be had, whatever the reason the server or the
 * pool gave (refused, timed out, "not accepting connections", too many clients, authentication):
 * no statement ran, so it can never be the message's fault.
 */
export function databaseConnectFailure(error: unknown): DependencyUnavailableError {
  if (error instanceof DependencyUnavailableError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? `${error.code} ` : '';
  return new DependencyUnavailableError(`database connection failed: ${code}${errorMessage(error)}`, { cause: error });
}
