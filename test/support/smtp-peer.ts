import { createServer, type Socket } from 'node:net';

export interface SmtpPeer {
  url: string;
  /** Each message taken, as the DATA it was sent with. */
  readonly messages: string[];
  close(): Promise<void>;
}

/**
 * A real SMTP peer over TCP, in the test process: it answers the greeting and EHLO, and then either
 * takes the message (250), or, for its first `stalled` sessions, answers MAIL FROM one byte at a
 * time and never ends the line. Each byte resets the client's socket timeout, so only a bound on the
 * whole send ends such a session: nodemailer's own timeouts never do.
 */
export function smtpPeer(stalled: number): Promise<SmtpPeer> {
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  let sessions = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    const stall = ++sessions <= stalled;
    let data: string[] | undefined;
    let buffer = '';
    let trickle: NodeJS.Timeout | undefined;
    socket.on('close', () => {
      clearInterval(trickle);
      sockets.delete(socket);
    });
    socket.on('error', () => undefined);
    socket.write('220 peer ready\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (data) {
          if (line !== '.') {
            data.push(line);
            continue;
          }
          messages.push(data.join('\n'));
          data = undefined;
          socket.write('250 queued\r\n');
          continue;
        }
        const command = line.slice(0, 4).toUpperCase();
        if (command === 'EHLO' || command === 'HELO') socket.write('250 peer\r\n');
        else if (command === 'MAIL' && stall) {
          socket.write('250-');
          trickle = setInterval(() => socket.write('x'), 100);
        } else if (command === 'MAIL' || command === 'RCPT' || command === 'RSET' || command === 'NOOP') socket.write('250 ok\r\n');
        else if (command === 'DATA') {
          data = [];
          socket.write('354 go on\r\n');
        } else if (command === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('502 not here\r\n');
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        url: `smtp://127.0.0.1:${port}`,
        messages,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    }),
  );
}
