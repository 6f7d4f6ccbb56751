import { describe, expect, it } from 'vitest';
import { csvHeader, fromCopy, leadingFields } from '../../../services/exports/csv.js';
import { matchesEtag } from '../../../services/exports/routes.js';

describe('export CSV (RFC 4180) from COPY output', () => {
  it('ends records with CRLF, keeps a line break inside a quoted field, counts records and reads the last key', () => {
    const copied = 'a1,1,plain\n"a,2",2,"say ""hi""\nand more"\n"x""y",3,\r-in-field\n';
    expect(fromCopy(copied, 2)).toEqual({
      csv: 'a1,1,plain\r\n"a,2",2,"say ""hi""\nand more"\r\n"x""y",3,\r-in-field\r\n',
      records: 3,
      lastKey: ['x"y', '3'],
    });
  });

  it('has no records and no key for an empty page; refuses output cut mid-record', () => {
    expect(fromCopy('', 2)).toEqual({ csv: '', records: 0, lastKey: undefined });
    expect(() => fromCopy('a,1\nb,', 2)).toThrow(/record end/);
  });

  it('reads quoted and bare leading fields, empty ones too', () => {
    expect(leadingFields('"",b,c\n', 0, 2)).toEqual(['', 'b']);
    expect(leadingFields('x\n"q,1",2\n', 2, 2)).toEqual(['q,1', '2']);
    expect(() => leadingFields('only\n', 0, 2)).toThrow(/fewer than 2/);
  });

  it('writes the header of plain column names', () => {
    expect(csvHeader(['hour', 'currency'])).toBe('hour,currency\r\n');
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
