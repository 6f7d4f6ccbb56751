/**
 * The local stack's mail server, for machines without Docker (compose runs Mailpit instead): an SMTP
 * sink that accepts every message and keeps it on disk under the stack folder, and an HTTP API with
 * the subset of Mailpit's API the tests read, in Mailpit's shapes, so one test helper works against both:
 *   GET    /api/v1/messages?start=&limit=          newest first: { total, count, start, messages: [summary] }
 *   GET    /api/v1/search?query=&start=&limit=     the same, filtered: to:, from:, subject:, message-id:, words
 *   GET    /api/v1/message/{ID}                    one message with Text and HTML
 *   GET    /api/v1/message/{ID}/raw                the message as received
 *   DELETE /api/v1/messages                        all, or those of body { IDs: [...] }
 *   GET    /livez, /readyz
 * Started detached by the local stack: argv = [stack dir, SMTP URL, HTTP URL].
 * MAIL_SINK_LATENCY_MS (default 0) delays each 250 reply to DATA by that long: a real provider is not
 * instant (the benchmarks run with 250 ms).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { z } from 'zod';
import { loadConfig, variable } from '../shared/config.js';
import { hostPort } from './layout.js';

const { latencyMs } = loadConfig({ latencyMs: variable('MAIL_SINK_LATENCY_MS', z.coerce.number({ error: 'expected milliseconds' }).int().min(0).default(0)) });

interface Address {
  Name: string;
  Address: string;
}

/** Mailpit's message summary. */
interface Summary {
  ID: string;
  MessageID: string;
  Read: boolean;
  From: Address;
  To: Address[];
  Cc: Address[];
  Bcc: Address[];
  ReplyTo: Address[];
  Subject: string;
  Created: string;
  Username: string;
  Tags: string[];
  Size: number;
  Attachments: number;
  Snippet: string;
}

/** Mailpit's full message (the fields tests use). */
interface FullMessage extends Omit<Summary, 'Read' | 'Created' | 'Snippet' | 'Attachments'> {
  Date: string;
  Text: string;
  HTML: string;
  Inline: never[];
  Attachments: never[];
}

interface Stored {
  summary: Summary;
  message: FullMessage;
}

const [stackDir, smtpUrl, httpUrl] = process.argv.slice(2);
if (!stackDir || !smtpUrl || !httpUrl) throw new Error('usage: smtp-sink.ts <stack dir> <smtp url> <http url>');
const mailDir = path.join(stackDir, 'data', 'mail');
mkdirSync(mailDir, { recursive: true });

/** Oldest first, as received; a restarted sink reloads what it kept. */
const store: Stored[] = readdirSync(mailDir)
  .filter((file) => file.endsWith('.json'))
  .map((file) => JSON.parse(readFileSync(path.join(mailDir, file), 'utf8')) as Stored)
  .sort((a, b) => a.summary.Created.localeCompare(b.summary.Created));
const byId = new Map(store.map((stored) => [stored.summary.ID, stored]));

function addresses(header: AddressObject | AddressObject[] | undefined): Address[] {
  const objects = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return objects.flatMap((object) => object.value).map((a) => ({ Name: a.name ?? '', Address: a.address ?? '' }));
}

async function receive(raw: Buffer): Promise<void> {
  const parsed = await simpleParser(raw);
  const id = randomUUID();
  const text = parsed.text ?? '';
  const base = {
    ID: id,
    MessageID: (parsed.messageId ?? '').replace(/^<|>$/g, ''),
    From: addresses(parsed.from)[0] ?? { Name: '', Address: '' },
    To: addresses(parsed.to),
    Cc: addresses(parsed.cc),
    Bcc: addresses(parsed.bcc),
    ReplyTo: addresses(parsed.replyTo),
    Subject: parsed.subject ?? '',
    Username: '',
    Tags: [],
    Size: raw.length,
  };
  const stored: Stored = {
    summary: {
      ...base,
      Read: false,
      Created: new Date().toISOString(),
      Attachments: parsed.attachments.length,
      Snippet: text.replace(/\s+/g, ' ').trim().slice(0, 250),
    },
    message: {
      ...base,
      Date: (parsed.date ?? new Date()).toISOString(),
      Text: text,
      HTML: parsed.html || '',
      Inline: [],
      Attachments: [],
    },
  };
  // The .json is written last: it is what marks a message as complete on reload.
  await writeFile(path.join(mailDir, `${id}.eml`), raw);
  await writeFile(path.join(mailDir, `${id}.json`), JSON.stringify(stored));
  store.push(stored);
  byId.set(id, stored);
}

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  // A reverse DNS lookup per connection delays the greeting by ~100 ms and tells a sink nothing.
  disableReverseLookup: true,
  logger: false,
  size: 10 * 1024 * 1024,
  onData(stream, _session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', callback);
    stream.on('end', () => {
      // 250 only once the message is on disk: an accepted message is a kept message.
      receive(Buffer.concat(chunks)).then(
        () => (latencyMs > 0 ? void setTimeout(callback, latencyMs) : callback()),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    });
  },
});

/** Mailpit's search syntax, the part tests use: key:value or key:"value", and plain words; all must match. */
function matcher(query: string): (stored: Stored) => boolean {
  const terms = [...query.matchAll(/(?:([\w-]+):)?(?:"([^"]*)"|(\S+))/g)].map((m) => ({
    key: m[1]?.toLowerCase(),
    value: (m[2] ?? m[3] ?? '').toLowerCase(),
  }));
  const list = (items: Address[]) => items.map((a) => `${a.Name} <${a.Address}>`).join(', ').toLowerCase();
  return ({ summary }) =>
    terms.every(({ key, value }) => {
      switch (key) {
        case 'to':
          return list(summary.To).includes(value);
        case 'from':
          return list([summary.From]).includes(value);
        case 'subject':
          return summary.Subject.toLowerCase().includes(value);
        case 'message-id':
          return summary.MessageID.toLowerCase() === value.replace(/^<|>$/g, '');
        default:
          return [summary.Subject, list(summary.To), list([summary.From]), summary.Snippet].join(' ').toLowerCase().includes(value);
      }
    });
}

function page(url: URL, matching: Stored[]): object {
  const start = Math.max(0, Number(url.searchParams.get('start') ?? 0) || 0);
  const limit = Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50);
  const newestFirst = [...matching].reverse();
  const messages = newestFirst.slice(start, start + limit).map((stored) => stored.summary);
  const unread = matching.filter((stored) => !stored.summary.Read).length;
  return {
    total: store.length,
    unread: store.filter((stored) => !stored.summary.Read).length,
    count: messages.length,
    messages_count: matching.length,
    messages_unread: unread,
    start,
    tags: [],
    messages,
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function remove(requested: string[]): Promise<void> {
  // Only ids of stored messages reach the file system: an id like "../x" must not name a path.
  const ids = requested.filter((id) => byId.has(id));
  const gone = new Set(ids);
  for (let i = store.length - 1; i >= 0; i--) {
    if (gone.has(store[i]!.summary.ID)) store.splice(i, 1);
  }
  for (const id of ids) {
    byId.delete(id);
    await rm(path.join(mailDir, `${id}.json`), { force: true });
    await rm(path.join(mailDir, `${id}.eml`), { force: true });
  }
}

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://sink');
  const json = (status: number, body: unknown) => {
    response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };
  const method = request.method ?? 'GET';
  if (method === 'GET' && (url.pathname === '/livez' || url.pathname === '/readyz')) return void response.end('ok');
  if (method === 'GET' && url.pathname === '/api/v1/messages') return json(200, page(url, store));
  if (method === 'GET' && url.pathname === '/api/v1/search') {
    return json(200, page(url, store.filter(matcher(url.searchParams.get('query') ?? ''))));
  }
  if (method === 'DELETE' && url.pathname === '/api/v1/messages') {
    const body = await readBody(request);
    const ids = body.trim() ? ((JSON.parse(body) as { IDs?: string[] }).IDs ?? []) : [];
    await remove(ids.length > 0 ? ids : store.map((stored) => stored.summary.ID));
    return void response.end('ok');
  }
  const single = /^\/api\/v1\/message\/([\w-]+)(\/raw)?$/.exec(url.pathname);
  if (method === 'GET' && single) {
    const stored = byId.get(single[1]!);
    if (!stored) return json(404, { error: 'message not found' });
    if (single[2]) {
      const raw = readFileSync(path.join(mailDir, `${stored.summary.ID}.eml`));
      return void response.writeHead(200, { 'Content-Type': 'message/rfc822' }).end(raw);
    }
    stored.summary.Read = true;
    return json(200, stored.message);
  }
  json(404, { error: `no route for ${method} ${url.pathname}` });
}

const http = createServer((request, response) => {
  route(request, response).catch((error: unknown) => {
    if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
  });
});

const smtpAddress = hostPort(smtpUrl);
const httpAddress = hostPort(httpUrl);
smtp.on('error', (error) => console.error(`smtp: ${error.message}`));
await new Promise<void>((resolve, reject) => {
  smtp.server.once('error', reject);
  smtp.listen(smtpAddress.port, smtpAddress.host, () => resolve());
});
await new Promise<void>((resolve) => {
  // A taken API port (another stack on the default) must not take SMTP down with it: mail is still
  // kept on disk, only the API is missing until MAIL_SINK_URL names a free port.
  http.once('error', (error) => {
    console.error(`mail API could not listen on ${httpUrl}: ${error.message} (set MAIL_SINK_URL)`);
    resolve();
  });
  http.listen(httpAddress.port, httpAddress.host, () => resolve());
});
console.log(`SMTP sink on ${smtpUrl}, API on ${httpUrl}, ${store.length} messages kept in ${mailDir}`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    http.close();
    smtp.close(() => process.exit(0));
  });
}
