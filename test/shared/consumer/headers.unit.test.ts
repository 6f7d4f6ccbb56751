import { describe, expect, it } from 'vitest';
import { HEADERS, headersToStrings } from '../../../shared/consumer/headers.js';

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
