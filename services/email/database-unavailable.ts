/**
 * Whether a PostgreSQL failure says the server cannot be reached or is not taking work, so the same
 * statement may pass once it is back, rather than that the statement itself failed. Local to the
 * email service's record of a sent mail until the platform classifies "dependency unavailable".
 */
export function databaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    // Connection exception (08), insufficient resources (53), shut down or starting up (57P0x),
    // and a database not accepting connections (55000, ALTER DATABASE ... ALLOW_CONNECTIONS false).
    return /^(08|53|57P0)/.test(code) || (code === '55000' && typeof message === 'string' && /not currently accepting connections/.test(message));
  }
  // Node's socket errors.
  if (typeof code === 'string') return /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code);
  // pg's own, which carry no code: a connection lost or never made within the pool's timeout.
  return typeof message === 'string' && /^Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect/.test(message);
}
