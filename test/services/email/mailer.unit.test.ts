import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Mailer } from '../../../services/email/mailer.js';
import { TransientError } from '../../../shared/errors.js';

/**
 * A real SMTP peer over TCP, in the test: it answers the greeting and EHLO, and then either takes
 * the message (250) or, for the first `stalled` sessions, answers MAIL FROM one byte at a time and
 * never ends the line. Each byte resets the socket's idle timeout, so only a bound on the whole send
 * ends it.
 */
function smtpPeer(stalled: number): Promise<{ url: string; server: Server; accepted: string[] }> {
  const accepted: string[] = [];
  let sessions = 0;
  const server = createServer((socket: Socket) => {
    const stall = ++sessions <= stalled;
    let inData = false;
    let buffer = '';
    let trickle: NodeJS.Timeout | undefined;
    socket.on('close', () => clearInterval(trickle));
    socket.on('error', () => undefined);
    socket.write('220 peer ready\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            accepted.push('mail');
            socket.write('250 queued\r\n');
          }
          continue;
        }
        const command = line.slice(0, 4).toUpperCase();
        if (command === 'EHLO' || command === 'HELO') socket.write('250 peer\r\n');
        else if (command === 'MAIL' && stall) {
          socket.write('250-');
          trickle = setInterval(() => socket.write('x'), 100);
        } else if (command === 'MAIL' || command === 'RCPT' || command === 'RSET' || command === 'NOOP') socket.write('250 ok\r\n');
        else if (command === 'DATA') {
          inData = true;
          socket.write('354 go on\r\n');
        } else if (command === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('502 no\r\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    resolve({ url: `smtp://127.0.0.1:${port}`, server, accepted });
  }));
}

const mail = (n: number) => ({ to: `peer${n}@mailer.example`, subject: `Order ${n} received`, text: 'x', messageId: `<order-${n}@mailer.example>` });
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('mailer against a server that stalls mid-reply', () => {
  it('gives up on a send after its own timeout, and the pool recovers its connections', async () => {
    const peer = await smtpPeer(3);
    const mailer = new Mailer(peer.url, 'shop <shop@mailer.example>', 500);
    cleanups.push(() => mailer.close(), () => void peer.server.close());

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
    expect(peer.accepted).toEqual(['mail']);
  });

  it("gives up at once when the caller's signal aborts (the handler's deadline)", async () => {
    const peer = await smtpPeer(1);
    const mailer = new Mailer(peer.url, 'shop <shop@mailer.example>');
    cleanups.push(() => mailer.close(), () => void peer.server.close());

    const deadline = new AbortController();
    const sending = mailer.send(mail(1), deadline.signal);
    setTimeout(() => deadline.abort(), 300);
    const started = Date.now();
    await expect(sending).rejects.toThrow(/abandoned at the handler deadline/);
    expect(Date.now() - started).toBeLessThan(2000);

    await mailer.send(mail(2));
    expect(peer.accepted).toEqual(['mail']);
  });
});
