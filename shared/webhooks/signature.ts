import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): the signed content is
 * `{webhook-id}.{webhook-timestamp}.{body}`, the signature its HMAC-SHA256 under the secret's key,
 * in base64, sent as `v1,<signature>`; several (a rotation's old and new secret) are space-separated.
 */
const SECRET_PREFIX = 'whsec_';

/** A new secret: `whsec_` and 32 random bytes in base64. */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** The base64 signature of one message under one secret. */
export function signature(secret: string, id: string, timestampSeconds: number, body: string | Buffer): string {
  return createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
}

/** The `webhook-signature` header: one `v1,` entry per secret. */
export function signatureHeader(secrets: readonly string[], id: string, timestampSeconds: number, body: string | Buffer): string {
  return secrets.map((secret) => `v1,${signature(secret, id, timestampSeconds, body)}`).join(' ');
}

/** Whether any `v1,` entry of the header is the message's signature under `secret` (in constant time). */
export function headerSignedBy(header: string, secret: string, id: string, timestampSeconds: number, body: string | Buffer): boolean {
  const expected = Buffer.from(signature(secret, id, timestampSeconds, body));
  return header.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || value === undefined) return false;
    const given = Buffer.from(value);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
