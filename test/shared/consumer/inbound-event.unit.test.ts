import { describe, expect, it } from 'vitest';
import { DecodedEvent, releaseValue } from '../../../shared/consumer/inbound-event.js';
import type { InboundEvent } from '../../../shared/consumer/types.js';
import { ValueReleasedError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/logger.js';

const logger = createLogger('test');
const from = { topic: 'orders', partition: 2 };

function decoded(value: unknown, headers: Record<string, string> = {}): DecodedEvent {
  const message = { key: Buffer.from('k'), value: Buffer.from('bytes'), headers, offset: '41', timestamp: '0' };
  return new DecodedEvent(value, 'orders', message, from, logger);
}

describe('releaseValue', () => {
  it("drops the decoded value: reading it throws, the event's id, key and delivery stay", () => {
    const event = decoded({ eventId: 'from-the-value', n: 1 });
    expect(event.value).toEqual({ eventId: 'from-the-value', n: 1 });
    releaseValue(event);
    expect(() => event.value).toThrow(ValueReleasedError);
    expect(event.eventId).toBe('from-the-value');
    expect(event.key).toBe('k');
    expect(event.delivery).toEqual({ topic: 'orders', partition: 2, message: expect.objectContaining({ offset: '41' }) });
    releaseValue(event);
    expect(event.eventId).toBe('from-the-value');
  });

  it('the event-id header still wins over the released value', () => {
    const event = decoded({ eventId: 'from-the-value' }, { 'event-id': 'from-the-header' });
    releaseValue(event);
    expect(event.eventId).toBe('from-the-header');
  });

  it("leaves events the runtime did not decode as they are", () => {
    const event = { value: { n: 1 } } as unknown as InboundEvent<{ n: number }>;
    releaseValue(event);
    expect(event.value).toEqual({ n: 1 });
  });
});
