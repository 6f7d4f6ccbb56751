import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { WebhookReceiver, WebhookVerificationError } from '../../../shared/webhooks/receiver.js';
import { newSecret, signatureHeader } from '../../../shared/webhooks/signature.js';

const body = JSON.stringify({ type: 'order.confirmed', timestamp: '2026-01-01T00:00:00.000Z', data: { orderId: 'o-1' } });
const now = 1_767_225_600_000;
const seconds = Math.floor(now / 1000);

function headers(secret: string, id = 'msg_1', timestamp = seconds) {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatureHeader([secret], id, timestamp, body) };
}

describe('Standard Webhooks signatures', () => {
  it('our signature verifies with the standardwebhooks package, and theirs with our receiver', () => {
    const secret = newSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const theirs = new Webhook(secret);
    expect(theirs.verify(body, headers(secret, 'msg_1', Math.floor(Date.now() / 1000)))).toEqual(JSON.parse(body));

    const timestamp = new Date(now);
    const signed = theirs.sign('msg_2', timestamp, body);
    const verified = new WebhookReceiver({ secrets: [secret], now: () => now }).verify(body, {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(seconds),
      'webhook-signature': signed,
    });
    expect(verified).toEqual({ id: 'msg_2', timestampSeconds: seconds, payload: JSON.parse(body), redelivery: false });
  });

  it('accepts any of several signatures (a rotation signs with both secrets)', () => {
    const [old, next] = [newSecret(), newSecret()];
    const header = signatureHeader([old, next], 'msg_3', seconds, body);
    for (const secret of [old, next]) {
      const receiver = new WebhookReceiver({ secrets: [secret], now: () => now });
      expect(receiver.verify(body, { 'webhook-id': 'msg_3', 'webhook-timestamp': String(seconds), 'webhook-signature': header }).id).toBe('msg_3');
    }
  });
});

describe('the receiver kit', () => {
  const secret = newSecret();
  const receiver = () => new WebhookReceiver({ secrets: [secret], now: () => now });

  it('refuses a wrong secret, a changed body, missing headers', () => {
    const r = receiver();
    expect(() => r.verify(body, headers(newSecret()))).toThrow(/no valid signature/);
    expect(() => r.verify(body.replace('o-1', 'o-2'), headers(secret))).toThrow(WebhookVerificationError);
    expect(() => r.verify(body, { 'webhook-id': 'msg_1' })).toThrow(/missing/);
  });

  it('accepts timestamps within ±5 minutes, and no further', () => {
    const r = receiver();
    expect(r.verify(body, headers(secret, 'a', seconds - 299)).id).toBe('a');
    expect(r.verify(body, headers(secret, 'b', seconds + 299)).id).toBe('b');
    expect(() => r.verify(body, headers(secret, 'c', seconds - 301))).toThrow(/tolerance/);
    expect(() => r.verify(body, headers(secret, 'd', seconds + 301))).toThrow(/tolerance/);
  });

  it('refuses a replayed request, and marks a retry (same id, fresh timestamp) as a redelivery', () => {
    const r = receiver();
    expect(r.verify(body, headers(secret, 'msg_9', seconds)).redelivery).toBe(false);
    expect(() => r.verify(body, headers(secret, 'msg_9', seconds))).toThrow(/replayed/);
    expect(r.verify(body, headers(secret, 'msg_9', seconds + 5)).redelivery).toBe(true);
  });

  it('takes fetch-style headers too', () => {
    expect(receiver().verify(body, new Headers(headers(secret, 'msg_h'))).id).toBe('msg_h');
  });
});
