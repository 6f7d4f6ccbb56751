import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every key starts with this: recognisable in a leaked log or a secret scanner's rules. */
export const KEY_PREFIX = 'opk_';

const uuidHex = /^[0-9a-f]{32}$/;

/**
 * A key is `opk_<client id, 32 hex>_<secret, 43 base64url>`: the id finds the client's row, the 256
 * random bits make guessing hopeless, which is why a plain SHA-256 (no slow hash) is enough to store it.
 */
export function newKey(clientId: string): string {
  return formatKey(clientId, randomBytes(32).toString('base64url'));
}

export function formatKey(clientId: string, secret: string): string {
  return `${KEY_PREFIX}${clientId.replaceAll('-', '')}_${secret}`;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The client id a key names (a UUID), or undefined when the key is not of our shape. */
export function clientIdOf(key: string): string | undefined {
  if (!key.startsWith(KEY_PREFIX)) return undefined;
  const hex = key.slice(KEY_PREFIX.length, KEY_PREFIX.length + 32);
  if (!uuidHex.test(hex) || key[KEY_PREFIX.length + 32] !== '_') return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Whether `key` hashes to `storedHash`, in time independent of where they differ. */
export function keyMatches(key: string, storedHash: string): boolean {
  const given = Buffer.from(hashKey(key), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
