import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Without the angle brackets, as Mailpit shows it. */
  messageId: string;
  subject: string;
  to: string[];
}

export interface TestSmtpServer {
  /** smtp://127.0.0.1:<port> */
  url: string;
  /** Every message accepted (250), in order. */
  received: ReceivedMail[];
  close(): Promise<void>;
}

export interface TestSmtpOptions {
  /**
   * Runs once a message's DATA is complete and before the server answers it: the message is
   * accepted (250) when this resolves, refused when it rejects. For a fault at that very moment.
   */
  beforeAccept?: (mail: ReceivedMail) => Promise<void>;
}

/**
 * A real SMTP server inside the test process, on a free port, for a test that needs to act between
 * a message's arrival and its acceptance (the stack's sink is shared and cannot be told to).
 */
export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then(async (parsed) => {
          const to = (Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : []).flatMap((a) => a.value.map((v) => v.address ?? ''));
          const mail: ReceivedMail = { messageId: (parsed.messageId ?? '').replace(/^<|>$/g, ''), subject: parsed.subject ?? '', to };
          await options.beforeAccept?.(mail);
          received.push(mail);
        })
        .then(
          () => callback(),
          (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
        );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
