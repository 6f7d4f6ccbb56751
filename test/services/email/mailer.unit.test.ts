import { afterEach, describe, expect, it } from 'vitest';
import { Mailer } from '../../../services/email/mailer.js';
import { TransientError } from '../../../shared/errors.js';
import { smtpPeer } from '../../support/smtp-peer.js';

const mail = (n: number) => ({ to: `peer${n}@mailer.example`, subject: `Order ${n} received`, text: 'x', messageId: `<order-${n}@mailer.example>` });
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('mailer against a server that stalls mid-reply', () => {
  it('gives up on a send after its own timeout, and the pool recovers its connections', async () => {
    const peer = await smtpPeer(3);
    const mailer = new Mailer(peer.url, 'shop <shop@mailer.example>', 500);
    cleanups.push(() => mailer.close(), () => void peer.close());

    // As many stalled sends as the pool has connections: each must fail, and free its slot.
    const started = Date.now();
    const stalled = await Promise.allSettled([mailer.send(mail(1)), mailer.send(mail(2)), mailer.send(mail(3))]);
    expect(stalled.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const result of stalled) {
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(TransientError);
      expect(String((result as PromiseRejectedResult).reason)).toMatch(/did not finish within 500 ms/);
    }
    expect(Date.now() - started).toBeLessThan(5000);

    await mailer.send(mail(4));
    expect(peer.messages).toHaveLength(1);
  });

  it("gives up at once when the caller's signal aborts (the handler's deadline)", async () => {
    const peer = await smtpPeer(1);
    const mailer = new Mailer(peer.url, 'shop <shop@mailer.example>');
    cleanups.push(() => mailer.close(), () => void peer.close());

    const deadline = new AbortController();
    const sending = mailer.send(mail(1), deadline.signal);
    setTimeout(() => deadline.abort(), 300);
    const started = Date.now();
    await expect(sending).rejects.toThrow(/abandoned at the handler deadline/);
    expect(Date.now() - started).toBeLessThan(2000);

    await mailer.send(mail(2));
    expect(peer.messages).toHaveLength(1);
  });
});
