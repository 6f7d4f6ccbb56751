import { describe, expect, it } from 'vitest';
import { csvLines } from '../../../services/exports/csv.js';
import { matchesEtag } from '../../../services/exports/routes.js';

describe('export CSV (RFC 4180)', () => {
  it('quotes fields with a comma, a quote, CR or LF, doubles quotes, ends lines with CRLF, leaves null empty', () => {
    expect(csvLines([['plain', 'a,b', 'say "hi"', 'one\ntwo', 'cr\rhere', null, 12, '']])).toBe(
      'plain,"a,b","say ""hi""","one\ntwo","cr\rhere",,12,\r\n',
    );
  });

  it('writes nothing for no rows, one line per row otherwise', () => {
    expect(csvLines([])).toBe('');
    expect(csvLines([['a'], ['b']])).toBe('a\r\nb\r\n');
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
