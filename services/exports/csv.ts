/** What a page of COPY … (FORMAT csv) output is as an export's chunk, and where the next page starts. */
export interface CopiedPage {
  /** The records with CRLF endings. */
  csv: string;
  records: number;
  /** The last record's first fields (its key), unquoted; undefined for no records. */
  lastKey: string[] | undefined;
}

/**
 * PostgreSQL's COPY … (FORMAT csv) quotes as RFC 4180 has it (a field holding a comma, a quote, CR
 * or LF is quoted, its quotes doubled; NULL is an empty field) but ends records with LF: this ends
 * them with CRLF, leaving a line break inside a quoted field as it is, and reads the last record's
 * first `keyFields` fields for the keyset cursor.
 */
export function fromCopy(copied: string, keyFields: number): CopiedPage {
  const pieces: string[] = [];
  let quoted = false;
  let from = 0;
  let records = 0;
  let lastStart = -1;
  for (let i = 0; i < copied.length; i++) {
    const c = copied.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 10 && !quoted) {
      pieces.push(copied.slice(from, i), '\r\n');
      lastStart = from;
      records++;
      from = i + 1;
    }
  }
  if (from < copied.length) throw new Error('COPY output does not end with a record end');
  return { csv: pieces.join(''), records, lastKey: records === 0 ? undefined : leadingFields(copied, lastStart, keyFields) };
}

/** The first `count` fields of the record starting at `start`, unquoted. */
export function leadingFields(text: string, start: number, count: number): string[] {
  const fields: string[] = [];
  let i = start;
  while (fields.length < count) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) throw new Error('unterminated quoted field');
        value += text.slice(i, close);
        if (text[close + 1] === '"') {
          value += '"';
          i = close + 2;
        } else {
          i = close + 1;
          break;
        }
      }
      fields.push(value);
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
      fields.push(text.slice(i, end));
      i = end;
    }
    if (text[i] !== ',') break;
    i++;
  }
  if (fields.length < count) throw new Error(`a record has fewer than ${count} fields`);
  return fields;
}

/** The header line: column names are plain identifiers, never quoted. */
export function csvHeader(columns: readonly string[]): string {
  return `${columns.join(',')}\r\n`;
}
