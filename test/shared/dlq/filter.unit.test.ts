import { describe, expect, it } from 'vitest';
import { describeFilter, isEmptyFilter, matches, type Filterable } from '../../../shared/dlq/filter.js';

const message = (overrides: Partial<Filterable>): Filterable => ({
  partition: 0,
  offset: '4',
  key: null,
  errorClass: undefined,
  errorCode: undefined,
  ...overrides,
});

describe('dlq message filter', () => {
  it('matches inclusive offset ranges', () => {
    const filter = { fromOffset: 3n, toOffset: 5n };
    expect(matches(message({ offset: '4' }), filter)).toBe(true);
    expect(matches(message({ offset: '6' }), filter)).toBe(false);
  });

  it('selects by error code, and a dead letter without the header matches no code', () => {
    expect(matches(message({ errorClass: 'PoisonPillError', errorCode: 'POISON_PILL' }), { errorCode: 'POISON_PILL' })).toBe(true);
    expect(matches(message({ errorClass: 'PermanentError', errorCode: 'PERMANENT' }), { errorCode: 'POISON_PILL' })).toBe(false);
    expect(matches(message({ errorClass: 'PoisonPillError' }), { errorCode: 'POISON_PILL' })).toBe(false);
    expect(matches(message({ errorClass: 'OrderRejectedError', errorCode: 'PERMANENT' }), { errorClass: 'OrderRejectedError', errorCode: 'PERMANENT' })).toBe(true);
  });

  it('describes itself for the operation log without bigints', () => {
    expect(describeFilter({ fromOffset: 3n, key: 'k', errorCode: 'PERMANENT' })).toEqual({ offsets: '3-', key: 'k', errorCode: 'PERMANENT' });
    expect(isEmptyFilter({})).toBe(true);
    expect(isEmptyFilter({ errorCode: 'PERMANENT' })).toBe(false);
  });
});
