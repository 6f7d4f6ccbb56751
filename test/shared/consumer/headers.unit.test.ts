import { describe, expect, it } from 'vitest';
import { headersToStrings } from '../../../shared/consumer/headers.js';

describe('headersToStrings', () => {
  it('turns byte and string values into strings', () => {
    expect(headersToStrings({ a: Buffer.from('x'), b: 'y' })).toEqual({ a: 'x', b: 'y' });
  });

  it('keeps the first value of a repeated header', () => {
    expect(headersToStrings({ a: [Buffer.from('first'), 'second'] })).toEqual({ a: 'first' });
  });

  it('leaves out absent values and copes with no headers', () => {
    expect(headersToStrings({ a: undefined, b: [] })).toEqual({});
    expect(headersToStrings(undefined)).toEqual({});
  });

  it('returns a fresh object the caller may change', () => {
    const source = { a: 'x' };
    const result = headersToStrings(source);
    result.a = 'changed';
    expect(source.a).toBe('x');
  });
});
