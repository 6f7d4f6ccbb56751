import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { errorMessage } from '../../shared/errors.js';
import { signatureHeader } from '../../shared/webhooks/signature.js';
import type { AttemptResult, ClaimedAttempt } from './deliveries.js';
import { parseRetryAfter } from './retry-schedule.js';
import { checkUrl, guardedLookup, type AllowedNetworks, type Resolve } from './ssrf-guard.js';

export interface SenderOptions {
  /** The whole attempt: connect, send, and the answer's last byte. */
  timeoutMs: number;
  allowedNetworks: AllowedNetworks;
  /** @defaultValue the system resolver */
  resolve?: Resolve;
}

/** The answer's body is read (so the connection ends cleanly) and thrown away. */
const USER_AGENT = 'order-pipeline-webhooks/1';

/**
 * One attempt as Standard Webhooks: POST the message's body with webhook-id, a fresh
 * webhook-timestamp and its signatures. node:http never follows a redirect (a 3xx is a failure
 * like any non-2xx), and its `lookup` hook checks the address the socket is about to use (the SSRF
 * guard at connect time); an IP literal is checked first, since it reaches no lookup.
 */
export class Sender {
  private readonly lookup;

  constructor(private readonly options: SenderOptions) {
    this.lookup = guardedLookup(options.allowedNetworks, options.resolve);
  }

  async send(attempt: ClaimedAttempt, signal?: AbortSignal): Promise<AttemptResult> {
    let url: URL;
    try {
      url = checkUrl(attempt.url, this.options.allowedNetworks);
    } catch (error) {
      return { error: errorMessage(error) };
    }
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const body = Buffer.from(attempt.body);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    try {
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        const outgoing = request(url, {
          method: 'POST',
          signal: abort,
          agent: false,
          lookup: this.lookup,
          headers: {
            'content-type': 'application/json',
            'content-length': body.length,
            'user-agent': USER_AGENT,
            'webhook-id': attempt.messageId,
            'webhook-timestamp': String(attempt.timestampSeconds),
            'webhook-signature': signatureHeader(attempt.secrets, attempt.messageId, attempt.timestampSeconds, body),
          },
        });
        outgoing.once('response', resolve);
        outgoing.once('error', reject);
        outgoing.end(body);
      });
      // The answer's body counts against the timeout too: an endpoint trickling bytes is a slow one.
      for await (const chunk of response) void chunk;
      const status = response.statusCode ?? 0;
      const retryAfter = response.headers['retry-after'];
      return { status, retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) };
    } catch (error) {
      if (timeout.aborted) return { error: `no answer within ${this.options.timeoutMs} ms` };
      if (signal?.aborted) return { error: 'abandoned: the service stopped' };
      return { error: errorMessage(error) };
    }
  }
}
