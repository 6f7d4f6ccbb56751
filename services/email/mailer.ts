import { connect } from 'node:net';
import { createTransport, type Transporter } from 'nodemailer';
import type { SMTPPoolOptions, SMTPPoolSentMessageInfo } from 'nodemailer/lib/smtp-pool';
import { isDependencyUnavailable } from '../../shared/dependency-unavailable.js';
import { DependencyUnavailableError, PermanentError, TransientError } from '../../shared/errors.js';
import type { Confirmation } from './confirmation.js';

function property(error: unknown, name: 'responseCode' | 'code' | 'command'): string | number | undefined {
  if (typeof error !== 'object' || error === null || !(name in error)) return undefined;
  const value = (error as Record<string, unknown>)[name];
  return typeof value === 'string' || typeof value === 'number' ? value : undefined;
}

/** nodemailer's codes for a server that cannot be reached, greeted or logged in to. */
const smtpUnavailableCodes = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ETLS', 'EAUTH', 'ENOAUTH']);

/** SMTP through nodemailer with pooled connections; failures classified for the consumer runtime. */
export class Mailer {
  private readonly transport: Transporter<SMTPPoolSentMessageInfo, SMTPPoolOptions>;

  constructor(
    smtpUrl: string,
    private readonly from: string,
    /**
     * The longest one send may take, whatever the server does: nodemailer's timeouts bound each
     * wait for a reply, not a server that answers a byte at a time. Below the handler deadline
     * (30 s), so a hung send fails as an SMTP error, not as an abandoned handler.
     * @defaultValue 20000
     */
    private readonly sendTimeoutMs = 20_000,
  ) {
    // Options from the URL by hand: nodemailer ignores every other option when given `url`.
    const url = new URL(smtpUrl);
    const secure = url.protocol === 'smtps:';
    const host = url.hostname;
    const port = Number(url.port || (secure ? 465 : 25));
    const connectionTimeout = 5000;
    const options: SMTPPoolOptions & { pool: true } = {
      host,
      port,
      secure,
      auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
      pool: true,
      maxConnections: 3,
      // Short limits: a send happens inside a database transaction, which must not hang.
      connectionTimeout,
      greetingTimeout: 5000,
      socketTimeout: 15_000,
      // Idle connections are closed with a QUIT before the socket timeout ends them as an error.
      idleTimeout: 10_000,
    };
    // Without TCP_NODELAY the message's last few bytes wait for the server's delayed ACK: about
    // 40 ms per mail. (A TLS connection keeps nodemailer's own socket.)
    if (!secure) {
      options.getSocket = (_options, callback) => {
        const socket = connect({ host, port, noDelay: true, timeout: connectionTimeout });
        const fail = (error: Error) => {
          socket.destroy();
          callback(error, undefined);
        };
        const timedOut = () => fail(new Error(`SMTP connection timed out after ${connectionTimeout} ms`));
        socket.once('timeout', timedOut);
        socket.once('error', fail);
        socket.once('connect', () => {
          socket.setTimeout(0);
          // The connection sets its own socket timeout; a 'timeout' listener left here would destroy
          // the socket and call back a second time when that one fires, long after the connect (an
          // idle pooled connection, a send to a frozen server).
          socket.removeListener('timeout', timedOut);
          socket.removeListener('error', fail);
          callback(null, { connection: socket });
        });
      };
    }
    this.transport = createTransport(options);
  }

  /**
   * Resolves once the server accepted the message (250). Gives up after its own timeout or when
   * `signal` aborts (the handler's deadline): nodemailer then drops the message from its queue, or
   * closes the connection delivering it, so the pool's slot is freed too.
   */
  async send(mail: Confirmation, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.sendTimeoutMs);
    try {
      await this.transport.sendMail({
        from: this.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        messageId: mail.messageId,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (property(error, 'code') === 'EABORT') {
        throw new TransientError(timeout.aborted ? `SMTP send did not finish within ${this.sendTimeoutMs} ms` : 'SMTP send abandoned at the handler deadline');
      }
      // Only codes go into the error: SMTP replies and nodemailer messages may quote the address,
      // and errors end up in logs and DLQ headers (so no `cause` either: pino prints causes).
      const responseCode = property(error, 'responseCode');
      const what = `code ${property(error, 'code') ?? '?'}, command ${property(error, 'command') ?? '?'}, reply ${responseCode ?? '-'}`;
      // A 5xx to this message's own commands (a rejected sender, recipient or content) is final; a 5xx
      // at login or greeting (rotated credentials, a misconfigured relay) is the server's, and passes.
      const command = String(property(error, 'command') ?? '').toUpperCase();
      const aboutThisMessage = /^(MAIL FROM|RCPT TO|DATA)/.test(command) && property(error, 'code') !== 'EAUTH';
      if (typeof responseCode === 'number' && responseCode >= 500 && aboutThisMessage) {
        throw new PermanentError(`SMTP refused the message (${what})`);
      }
      // The server cannot be used at all (connection, greeting, TLS, login; 421 "service not
      // available"): no message is at fault, and the runtime waits for the server without spending attempts.
      const unavailable =
        smtpUnavailableCodes.has(String(property(error, 'code'))) || ['CONN', 'EHLO'].includes(command) || responseCode === 421 || isDependencyUnavailable(error);
      if (unavailable) {
        throw new DependencyUnavailableError(`SMTP server unavailable (${what})`);
      }
      throw new TransientError(`SMTP send failed (${what})`);
    }
  }

  close(): void {
    this.transport.close();
  }
}
