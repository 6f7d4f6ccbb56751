import { describe, expect, it } from 'vitest';
import { REDACTED, redactBytes, redactText, redactValue } from '../../../shared/dlq/redact.js';

describe('dlq redaction', () => {
  it('redacts email fields at any depth and addresses in free text, bytes included', () => {
    const value = { orderId: 'o-1', email: 'ada@example.com', nested: [{ email: 'bob@example.org', note: 'mail carol@example.net' }] };
    expect(redactValue(value)).toEqual({ orderId: 'o-1', email: REDACTED, nested: [{ email: REDACTED, note: `mail ${REDACTED}` }] });
    expect(redactText('email="ada@example.com" unknown')).toBe(`email="${REDACTED}" unknown`);
    const bytes = redactBytes(Buffer.from('{"email":"ada@example.com"}'));
    expect(bytes.toString()).toBe(`{"email":"${'*'.repeat('ada@example.com'.length)}"}`);
  });
});
