import { describe, expect, it } from 'vitest';
import {
  REQUEST_REPLY_HEADERS,
  decodeCorrelationId,
  decodeDeadline,
  decodeReplyPartition,
  encodeCorrelationId,
  encodeReplyPartition,
  errorReplyHeaders,
  readReplyEnvelope,
} from '../../../shared/request-reply/headers.js';

describe('request-reply headers', () => {
  it("uses Spring's header names", () => {
    expect([REQUEST_REPLY_HEADERS.correlationId, REQUEST_REPLY_HEADERS.replyTopic, REQUEST_REPLY_HEADERS.replyPartition]).toEqual([
      'kafka_correlationId',
      'kafka_replyTopic',
      'kafka_replyPartition',
    ]);
  });

  it("writes a UUID correlation id as Spring's 16 bytes and reads it back", () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const bytes = encodeCorrelationId(id);
    expect(bytes).toEqual(Buffer.from('0f8fad5bd9cb469fa16570867728950e', 'hex'));
    expect(decodeCorrelationId(bytes)).toBe(id);
  });

  it("reads NestJS' string correlation ids, as bytes or as a string", () => {
    expect(decodeCorrelationId(Buffer.from('nest-42'))).toBe('nest-42');
    expect(decodeCorrelationId('nest-42')).toBe('nest-42');
    expect(decodeCorrelationId(Buffer.alloc(0))).toBeUndefined();
    expect(decodeCorrelationId(undefined)).toBeUndefined();
  });

  it('writes the reply partition as a 4-byte big-endian int', () => {
    expect(encodeReplyPartition(5)).toEqual(Buffer.from([0, 0, 0, 5]));
    expect(encodeReplyPartition(70_000)).toEqual(Buffer.from([0, 1, 0x11, 0x70]));
  });

  it("reads the partition as Spring's int and as NestJS' decimal string, which cannot be confused", () => {
    expect(decodeReplyPartition(Buffer.from([0, 0, 0, 3]))).toBe(3);
    expect(decodeReplyPartition(Buffer.from([0, 1, 0x11, 0x70]))).toBe(70_000);
    expect(decodeReplyPartition(Buffer.from('3'))).toBe(3);
    // Four ASCII digits are four bytes too: read as the number they spell, not as an int.
    expect(decodeReplyPartition(Buffer.from('1234'))).toBe(1234);
    expect(decodeReplyPartition('12')).toBe(12);
    expect(decodeReplyPartition(Buffer.from('x'))).toBeUndefined();
    expect(decodeReplyPartition(Buffer.from('-1'))).toBeUndefined();
    expect(decodeReplyPartition(undefined)).toBeUndefined();
  });

  it('reads a deadline only from decimal epoch milliseconds', () => {
    expect(decodeDeadline(Buffer.from('1767225600000'))).toBe(1_767_225_600_000);
    expect(decodeDeadline('abc')).toBeUndefined();
    expect(decodeDeadline('1e12')).toBeUndefined();
    expect(decodeDeadline(undefined)).toBeUndefined();
  });

  it('reads an error reply, and a status outside 4xx/5xx as 500', () => {
    const headers = { ...errorReplyHeaders({ code: 'UNKNOWN_SKU', status: 422, message: 'unknown SKU(s) X' }), kafka_correlationId: Buffer.from('c-1') };
    expect(readReplyEnvelope(headers)).toEqual({ correlationId: 'c-1', error: { code: 'UNKNOWN_SKU', status: 422, message: 'unknown SKU(s) X' } });
    expect(readReplyEnvelope({ ...headers, [REQUEST_REPLY_HEADERS.errorStatus]: '200' }).error?.status).toBe(500);
    expect(readReplyEnvelope({ kafka_correlationId: Buffer.from('c-2') })).toEqual({ correlationId: 'c-2', error: undefined });
  });
});
