/**
 * The receiver kit: what a client's endpoint runs to trust a webhook. Give it the raw body (the
 * bytes as received, before any JSON parsing: a re-serialised body no longer matches its signature).
 *
 *   const receiver = new WebhookReceiver({ secrets: [process.env.WEBHOOK_SECRET] });
 *   const { id, payload, redelivery } = receiver.verify(rawBody, request.headers);
 *
 * `webhook-id` stays the same across the sender's retries: it is the receiver's idempotency key.
 */
import type { ErrorCode } from '../errors.js';
import { PermanentError } from '../errors.js';
import { headerSignedBy } from './signature.js';

/** A request that does not prove it came from the sender, or came too late or twice. Answer 400 (401 is fine too). */
export class WebhookVerificationError extends PermanentError {
  override readonly code: string = 'PERMANENT' satisfies ErrorCode;
}

export interface WebhookReceiverOptions {
  /** The endpoint's secrets (`whsec_…`); during a rotation, both. */
  secrets: readonly string[];
  /** How far `webhook-timestamp` may be from now, either way. @defaultValue 300 */
  toleranceSeconds?: number;
  /** How many accepted requests the replay cache remembers. @defaultValue 10000 */
  replayCacheSize?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

export interface VerifiedWebhook {
  id: string;
  timestampSeconds: number;
  /** The body, parsed as JSON. */
  payload: unknown;
  /** This id was accepted before (with another timestamp: a retry of the sender). Process it idempotently. */
  redelivery: boolean;
}

type Headers = Record<string, string | string[] | undefined> | { get(name: string): string | null };

function header(headers: Headers, name: string): string | undefined {
  const value = typeof headers.get === 'function' ? (headers as { get(name: string): string | null }).get(name) : (headers as Record<string, unknown>)[name];
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Verifies Standard Webhooks requests: the signature under one of the secrets, a timestamp within
 * the tolerance, and no replay: a request whose id and timestamp were accepted before is refused
 * (a copy of a captured request; the sender's retries carry a fresh timestamp, so they pass, marked
 * `redelivery`). The cache only needs to outlive the tolerance: older copies fail the timestamp check.
 */
export class WebhookReceiver {
  private readonly accepted = new Map<string, { timestamps: Set<number>; expiresAt: number }>();

  constructor(private readonly options: WebhookReceiverOptions) {
    if (options.secrets.length === 0) throw new WebhookVerificationError('a webhook receiver needs at least one secret');
  }

  verify(rawBody: string | Buffer, headers: Headers): VerifiedWebhook {
    const id = header(headers, 'webhook-id');
    const timestamp = header(headers, 'webhook-timestamp');
    const signatures = header(headers, 'webhook-signature');
    if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
    const timestampSeconds = Number(timestamp);
    if (!/^\d+$/.test(timestamp) || !Number.isSafeInteger(timestampSeconds)) throw new WebhookVerificationError('webhook-timestamp is not a number of seconds');
    const tolerance = this.options.toleranceSeconds ?? 300;
    const nowMs = (this.options.now ?? Date.now)();
    if (Math.abs(nowMs / 1000 - timestampSeconds) > tolerance) throw new WebhookVerificationError('webhook-timestamp is outside the tolerance');
    if (!this.options.secrets.some((secret) => headerSignedBy(signatures, secret, id, timestampSeconds, rawBody))) {
      throw new WebhookVerificationError('no valid signature');
    }
    this.prune(nowMs);
    const seen = this.accepted.get(id);
    if (seen?.timestamps.has(timestampSeconds)) throw new WebhookVerificationError('replayed request (webhook-id and timestamp accepted before)');
    let payload: unknown;
    try {
      payload = JSON.parse(typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8'));
    } catch {
      throw new WebhookVerificationError('the body is not JSON');
    }
    const expiresAt = nowMs + 2 * tolerance * 1000;
    if (seen) {
      seen.timestamps.add(timestampSeconds);
      seen.expiresAt = expiresAt;
    } else {
      this.accepted.set(id, { timestamps: new Set([timestampSeconds]), expiresAt });
    }
    return { id, timestampSeconds, payload, redelivery: seen !== undefined };
  }

  private prune(nowMs: number): void {
    const limit = this.options.replayCacheSize ?? 10_000;
    for (const [id, entry] of this.accepted) {
      // Insertion order: the oldest first, dropped while expired or over the limit.
      if (entry.expiresAt > nowMs && this.accepted.size < limit) break;
      this.accepted.delete(id);
    }
  }
}
