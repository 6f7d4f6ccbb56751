import { mailSinkUrl } from '../../stack/layout.js';

/**
 * Reads the mail sink through the subset of Mailpit's API both the local sink (stack/smtp-sink.ts)
 * and Mailpit in compose serve, so the same helper works against either.
 */
export interface MailAddress {
  Name: string;
  Address: string;
}

export interface MailSummary {
  ID: string;
  MessageID: string;
  From: MailAddress;
  To: MailAddress[];
  Subject: string;
  Created: string;
}

export interface MailMessage extends MailSummary {
  Text: string;
}

const base = () => mailSinkUrl().replace(/\/+$/, '');

async function json<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * Every message matching a Mailpit search query (e.g. `to:"@run-1.example"`), all pages; from the
 * stack's sink, or the one at `apiUrl` (a test's own: mail-sink.ts).
 */
export async function searchMail(query: string, apiUrl = base()): Promise<MailSummary[]> {
  const found: MailSummary[] = [];
  for (let start = 0; ; ) {
    const page = await json<{ messages: MailSummary[]; messages_count: number }>(
      `${apiUrl.replace(/\/+$/, '')}/api/v1/search?query=${encodeURIComponent(query)}&start=${start}&limit=500`,
    );
    found.push(...page.messages);
    start += page.messages.length;
    if (page.messages.length === 0 || start >= page.messages_count) return found;
  }
}

export function readMail(id: string): Promise<MailMessage> {
  return json<MailMessage>(`${base()}/api/v1/message/${encodeURIComponent(id)}`);
}
