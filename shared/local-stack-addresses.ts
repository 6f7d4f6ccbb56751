/**
 * Where the local stack (`npm start`, stack/) serves by default. Kept in the platform so the stack
 * and the tools for people (`npm run dlq`) share one copy without the tools importing stack/.
 */
export const localStackAddresses = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
  DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/order_pipeline',
  SMTP_URL: 'smtp://127.0.0.1:2525',
} as const;

/** The environment with each address left unset (or empty) filled in with the local stack's. */
export function withLocalStackAddresses(source: Record<string, string | undefined> = process.env): Record<string, string | undefined> {
  const filled = { ...source };
  for (const [name, address] of Object.entries(localStackAddresses)) filled[name] ||= address;
  return filled;
}

export type LocalStackVariable = keyof typeof localStackAddresses;

export interface LocalStackFallback {
  /** The environment with the unset ones of `names` filled in. */
  environment: Record<string, string | undefined>;
  /** Which of `names` were unset (or empty) and so take the local stack's address. */
  filled: LocalStackVariable[];
}

/**
 * For the commands people run by hand (`npm run provision`, `npm run dlq`): the variables of `names`
 * left unset take the local stack's addresses, so that both work against `npm start` with nothing
 * set, and both tell which they filled in (describeFallback).
 */
export function fallBackToLocalStack(
  names: readonly LocalStackVariable[],
  source: Record<string, string | undefined> = process.env,
): LocalStackFallback {
  const environment = { ...source };
  const filled = names.filter((name) => !source[name]);
  for (const name of filled) environment[name] = localStackAddresses[name];
  return { environment, filled };
}

/** An address without its user info: a notice names where it connects, never a password. */
function withoutUserInfo(address: string): string {
  return address.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** One line saying which unset variables take which local address; undefined when none did. */
export function describeFallback(command: string, filled: readonly LocalStackVariable[]): string | undefined {
  if (filled.length === 0) return undefined;
  const uses = filled.map((name) => `${name}=${withoutUserInfo(localStackAddresses[name])}`).join(', ');
  return `${command}: not set, so using the local stack's addresses (npm start): ${uses}`;
}
