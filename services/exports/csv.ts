import { stringify } from 'csv-stringify/sync';

/**
 * RFC 4180: fields quoted when they hold a comma, a quote or a line break (quotes doubled), lines
 * ended by CRLF; null is an empty field. csv-stringify quotes a field holding the record delimiter
 * (CRLF) but not a lone CR or LF, which any reader would take for a line end: quoted_match adds them.
 */
export function csvLines(rows: ReadonlyArray<readonly unknown[]>): string {
  return rows.length === 0 ? '' : stringify(rows as unknown[][], { record_delimiter: 'windows', quoted_match: /[\r\n]/ });
}
