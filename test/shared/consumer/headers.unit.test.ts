import { describe, expect, it } from 'vitest';
import { HEADERS, failedAttempts, headersToStrings, withoutFailureHistory, parseCountHeader } from '../../../shared/consumer/headers.js';

describe('headersToStrings', () => {
  it('reads buffers and strings as text', () => {
    expect(headersToStrings({ [HEADERS.eventId]: Buffer.from('evt-1'), [HEADERS.attempt]: '2' })).toEqual({
      [HEADERS.eventId]: 'evt-1',
      [HEADERS.attempt]: '2',
    });
  });

  it('takes the first value of a repeated header', () => {
    expect(headersToStrings({ [HEADERS.errorCode]: [Buffer.from('PERMANENT'), Buffer.from('TRANSIENT')] })).toEqual({
      [HEADERS.errorCode]: 'PERMANENT',
    });
  });

  it('drops headers without a value and reads no headers as none', () => {
    expect(headersToStrings({ [HEADERS.parked]: undefined, [HEADERS.replays]: [] })).toEqual({});
    expect(headersToStrings(undefined)).toEqual({});
    expect(headersToStrings({})).toEqual({});
  });

  it('keeps empty values and UTF-8 text', () => {
    expect(headersToStrings({ [HEADERS.errorStack]: '', [HEADERS.errorMessage]: Buffer.from('café ☕') })).toEqual({
      [HEADERS.errorStack]: '',
      [HEADERS.errorMessage]: 'café ☕',
    });
  });

  it('returns a fresh object the caller may change', () => {
    const source = { a: 'x' };
    const result = headersToStrings(source);
    result.a = 'changed';
    expect(source.a).toBe('x');
  });

  it('names every header uniquely', () => {
    const names = Object.values(HEADERS);
    expect(new Set(names).size).toBe(names.length);
    expect(HEADERS.errorCode).toBe('failure-error-code');
    expect(HEADERS.errorClass).toBe('failure-error-class');
  });
});

describe('parseCountHeader (retry-attempt, dlq-replays)', () => {
  it('reads a non-negative safe integer written in decimal digits', () => {
    for (const [text, count] of [['0', 0], ['3', 3], ['007', 7], [String(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER]] as const) {
      expect(parseCountHeader(text), text).toBe(count);
    }
  });

  it('reads anything else as 0: a malformed header must not become a topic name like retry.NaN', () => {
    for (const text of [undefined, '', 'abc', '-3', '2.5', '1e3', ' 3', '3 ', '+3', '0x10', 'Infinity', 'NaN', '9007199254740993', '١٢']) {
      expect(parseCountHeader(text), String(text)).toBe(0);
    }
  });
});

describe('failure history on a delivery', () => {
  it('counts failed attempts only on a retry tier, strictly', () => {
    expect(failedAttempts({ [HEADERS.attempt]: '2' }, false)).toBe(2);
    expect(failedAttempts({ [HEADERS.attempt]: '2' }, true)).toBe(0);
    for (const bogus of ['abc', '-3', '2.5', undefined]) expect(failedAttempts({ [HEADERS.attempt]: bogus }, false)).toBe(0);
  });

  it('drops retry-*, original-* and failure-* headers a source-topic message cannot have earned, and keeps the rest', () => {
    const headers = { [HEADERS.eventId]: 'evt-1', [HEADERS.correlationId]: 'c', [HEADERS.attempt]: '5', [HEADERS.dueAt]: '1', [HEADERS.originalTopic]: 'x', [HEADERS.errorClass]: 'E' };
    expect(withoutFailureHistory(headers)).toEqual({ [HEADERS.eventId]: 'evt-1', [HEADERS.correlationId]: 'c' });
  });
});
