import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { DependencyUnavailableError, PermanentError } from '../../../shared/errors.js';
import { isDependencyUnavailable } from '../../../shared/dependency-unavailable.js';
import { Mailer } from '../../../services/email/mailer.js';
import { freePort } from '../../support/processes.js';

const mail = { to: 'ada@example.com', subject: 'Order o-1 received', text: 'thanks', messageId: '<order-o-1@order-pipeline.local>' };
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function listening(server: Server | SMTPServer, port: number): Promise<void> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
}

async function send(port: number): Promise<unknown> {
  const mailer = new Mailer(`smtp://127.0.0.1:${port}`, 'orders@example.com');
  try {
    await mailer.send(mail);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    mailer.close();
  }
}

describe('Mailer failures, as the consumer runtime sees them', () => {
  it('a server that refuses connections is unavailable, not the message', async () => {
    const error = await send(await freePort());
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(isDependencyUnavailable(error)).toBe(true);
  });

  it('a server that answers the greeting with 421 (service not available) is unavailable', async () => {
    const port = await freePort();
    const server = createServer((socket) => socket.end('421 too busy, try later\r\n'));
    await listening(server, port);
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    expect(await send(port)).toBeInstanceOf(DependencyUnavailableError);
  });

  it('a recipient the server rejects with 550 is the message: permanent', async () => {
    const port = await freePort();
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onRcptTo: (_address, _session, callback) => callback(Object.assign(new Error('no such user'), { responseCode: 550 })),
    });
    await listening(server, port);
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const error = await send(port);
    expect(error).toBeInstanceOf(PermanentError);
    expect(isDependencyUnavailable(error)).toBe(false);
  });
});
