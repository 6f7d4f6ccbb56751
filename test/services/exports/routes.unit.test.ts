import { describe, expect, it } from 'vitest';
import { csvHeader } from '../../../services/exports/kinds.js';
import { matchesEtag } from '../../../services/exports/routes.js';

describe('export CSV', () => {
  it('starts with a header of plain column names, CRLF-ended', () => {
    expect(csvHeader('revenue')).toBe('hour,currency,revenue_cents,events\r\n');
    expect(csvHeader('orders').split(',')).toHaveLength(10);
  });
});

describe('If-None-Match', () => {
  it('matches the ETag alone, in a list, weak, or *', () => {
    expect(matchesEtag('"ab-3"', '"ab-3"')).toBe(true);
    expect(matchesEtag('"x-1", W/"ab-3"', '"ab-3"')).toBe(true);
    expect(matchesEtag('*', '"ab-3"')).toBe(true);
    expect(matchesEtag('"ab-2"', '"ab-3"')).toBe(false);
    expect(matchesEtag(undefined, '"ab-3"')).toBe(false);
  });
});
