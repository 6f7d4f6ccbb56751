import type { MessageHeaders } from '../kafka/port.js';

/**
 * The headers of request-reply. The first three are Spring Kafka's (ReplyingKafkaTemplate,
 * KafkaHeaders), so a Spring requester or replier interoperates; NestJS' ClientKafka uses the same
 * names with the partition as a decimal string, accepted on read.
 */
export const REQUEST_REPLY_HEADERS = {
  /** Opaque bytes the replier echoes unchanged; written as Spring does: a UUID's 16 bytes. */
  correlationId: 'kafka_correlationId',
  replyTopic: 'kafka_replyTopic',
  /** A 4-byte big-endian int (Spring); a decimal string from NestJS. */
  replyPartition: 'kafka_replyPartition',
  /** Epoch ms, decimal: past it the requester no longer waits for an answer and the replier drops the request. */
  deadline: 'request-deadline',
  /** On an error reply (no value): the error's stable code, the HTTP-like status it maps to, and a message. */
  errorCode: 'reply-error-code',
  errorStatus: 'reply-error-status',
  errorMessage: 'reply-error-message',
} as const;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A header's first value, as sent. */
export function rawHeader(headers: MessageHeaders | undefined, name: string): Buffer | string | undefined {
  const value = headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A UUID as Spring's correlation bytes (16, most significant first); any other id as UTF-8. */
export function encodeCorrelationId(id: string): Buffer {
  return uuidPattern.test(id) ? Buffer.from(id.replaceAll('-', ''), 'hex') : Buffer.from(id, 'utf8');
}

/** Correlation bytes as the id the requester keys on: 16 bytes are a UUID, anything else UTF-8 (NestJS' string ids). */
export function decodeCorrelationId(value: Buffer | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value || undefined;
  if (value.length === 16) {
    const hex = value.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return value.length > 0 ? value.toString('utf8') : undefined;
}

export function encodeReplyPartition(partition: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(partition);
  return bytes;
}

/**
 * Spring's 4-byte big-endian int, or NestJS' decimal string (which arrives as bytes too). The two
 * cannot be confused: a partition's int starts with a 0 byte, a digit with 0x30-0x39.
 */
export function decodeReplyPartition(value: Buffer | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (Buffer.isBuffer(value) && value.length === 4 && value[0] === 0) return value.readInt32BE(0);
  const text = value.toString();
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : undefined;
}

/** Epoch ms, or undefined when absent or not a decimal number (no deadline then). */
export function decodeDeadline(value: Buffer | string | undefined): number | undefined {
  const text = value?.toString();
  return text !== undefined && /^[0-9]{1,16}$/.test(text) ? Number(text) : undefined;
}

/** What a requester reads from a reply. */
export interface ReplyEnvelope {
  correlationId: string | undefined;
  /** Set on an error reply. */
  error: ReplyErrorFields | undefined;
}

export interface ReplyErrorFields {
  code: string;
  status: number;
  message: string;
}

export function readReplyEnvelope(headers: MessageHeaders | undefined): ReplyEnvelope {
  const text = (name: string) => rawHeader(headers, name)?.toString();
  const code = text(REQUEST_REPLY_HEADERS.errorCode);
  const status = Number(text(REQUEST_REPLY_HEADERS.errorStatus));
  return {
    correlationId: decodeCorrelationId(rawHeader(headers, REQUEST_REPLY_HEADERS.correlationId)),
    error:
      code === undefined
        ? undefined
        : { code, status: Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500, message: text(REQUEST_REPLY_HEADERS.errorMessage) ?? code },
  };
}

export function errorReplyHeaders(error: ReplyErrorFields): MessageHeaders {
  return {
    [REQUEST_REPLY_HEADERS.errorCode]: error.code,
    [REQUEST_REPLY_HEADERS.errorStatus]: String(error.status),
    // Headers are not for essays; a message is a sentence.
    [REQUEST_REPLY_HEADERS.errorMessage]: error.message.slice(0, 500),
  };
}
