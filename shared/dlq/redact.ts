/**
 * Personal data in DLQ messages is not printed in clear unless the caller asks (`reveal`): `email`
 * fields of decoded values at any depth, and anything that looks like an address in free text (error
 * messages quote field values; an undecodable value may be JSON).
 */
export const REDACTED = '[redacted]';

const personalFields = new Set(['email']);
const emailPattern = /[^\s@"'<>,;:()[\]{}]+@[^\s@"'<>,;:()[\]{}]+\.[A-Za-z]{2,}/g;

export function redactText(text: string): string {
  return text.replace(emailPattern, REDACTED);
}

/** Masks address-like byte runs with `*`, so neither a hex nor a text preview shows them. */
export function redactBytes(bytes: Buffer): Buffer {
  const masked = Buffer.from(bytes);
  // latin1 maps each byte to one character, so match positions are byte positions.
  for (const match of bytes.toString('latin1').matchAll(emailPattern)) {
    masked.fill(0x2a, match.index, match.index + match[0].length);
  }
  return masked;
}

export function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([field, fieldValue]) => [
        field,
        personalFields.has(field) && fieldValue !== null ? REDACTED : redactValue(fieldValue),
      ]),
    );
  }
  return typeof value === 'string' ? redactText(value) : value;
}
