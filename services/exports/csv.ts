import { stringify } from 'csv-stringify/sync';

/**
 * RFC 4180: fields quoted when they hold a comma, a quote or a line break (quotes doubled), lines
 * ended by CRLF. null is an empty field.
 */
export function csvLines(rows: ReadonlyArray<readonly unknown[]>): string {
  return rows.length === 0 ? '' : stringify(rows as unknown[][], { record_delimiter: 'windows' });
}
