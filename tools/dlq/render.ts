/** Plain-text tables for people; `--json` output for scripts goes through `toJson`. */
export function renderTable(columns: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** JSON with bigints as strings and bytes as hex, which JSON.stringify cannot do on its own. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, field: unknown) => {
      if (typeof field === 'bigint') return field.toString();
      if (field !== null && typeof field === 'object' && 'type' in field && field.type === 'Buffer' && 'data' in field && Array.isArray(field.data)) {
        return Buffer.from(field.data as number[]).toString('hex');
      }
      return field;
    },
    2,
  );
}

export function isoOrDash(epochMs: number | undefined): string {
  return epochMs === undefined || Number.isNaN(epochMs) ? '-' : new Date(epochMs).toISOString();
}

/** Indents every line of a multi-line text (stack traces, pretty JSON) under a label. */
export function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((line) => by + line)
    .join('\n');
}
