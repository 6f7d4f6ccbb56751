import { HEADERS } from '../consumer/headers.js';
import { PoisonPillError } from '../errors.js';
import type { AvroSerde } from '../registry/serde.js';
import type { DlqRecord } from './reader.js';
import { redactBytes, redactText, redactValue } from './redact.js';

const previewBytes = 64;

/** A DLQ message as people see it: decoded if possible, else a preview of its bytes and why. */
export interface InspectedMessage {
  group: string;
  sourceTopic: string;
  dlqTopic: string;
  partition: number;
  offset: string;
  dlqTimestamp: string;
  key: string | null;
  errorClass: string | null;
  /** The error's stable code; null on dead letters written before the header existed. */
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
  replays: number;
  headers: Record<string, string>;
  value?: unknown;
  undecodable?: { reason: string; message: string; bytes: number; hex: string; utf8: string };
}

function printable(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/[\p{Cc}\uFFFD]/gu, '.');
}

/** Decodes one DLQ message with its source topic's schema; personal data is redacted unless `reveal`. */
export async function inspect(serde: AvroSerde, record: DlqRecord, reveal: boolean): Promise<InspectedMessage> {
  const text = (value: string) => (reveal ? value : redactText(value));
  const headers = Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, text(value)]));
  const inspected: InspectedMessage = {
    group: record.target.group.groupId,
    sourceTopic: record.target.source.name,
    dlqTopic: record.target.dlqTopic,
    partition: record.partition,
    offset: record.offset,
    dlqTimestamp: new Date(record.timestamp).toISOString(),
    key: record.key,
    errorClass: record.errorClass ?? null,
    errorCode: record.errorCode ?? null,
    errorMessage: headers[HEADERS.errorMessage] ?? null,
    attempts: Number(record.headers[HEADERS.attempt] ?? 0),
    replays: Number(record.headers[HEADERS.replays] ?? 0),
    headers,
  };
  try {
    const value = await serde.decode(record.target.source, record.value);
    inspected.value = reveal ? value : redactValue(value);
  } catch (error) {
    // A registry outage is not the message's fault: it fails the command instead of mislabelling bytes.
    if (!(error instanceof PoisonPillError)) throw error;
    const bytes = record.value ?? Buffer.alloc(0);
    const head = reveal ? bytes.subarray(0, previewBytes) : redactBytes(bytes).subarray(0, previewBytes);
    inspected.undecodable = {
      reason: error.reason,
      message: text(error.message),
      bytes: bytes.length,
      hex: head.toString('hex').replace(/(..)(?!$)/g, '$1 '),
      utf8: printable(head),
    };
  }
  return inspected;
}
