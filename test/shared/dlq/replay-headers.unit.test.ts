import { describe, expect, it } from 'vitest';
import { HEADERS, headersToStrings } from '../../../shared/consumer/headers.js';
import { replayHeaders, replaysOf } from '../../../shared/dlq/replay-headers.js';
import type { IHeaders } from '../../../shared/kafka/client.js';

function deadLetter(raw: IHeaders) {
  return { rawHeaders: raw, headers: headersToStrings(raw) };
}

describe('replay headers', () => {
  const raw: IHeaders = {
    [HEADERS.eventId]: Buffer.from('evt-1'),
    [HEADERS.attempt]: Buffer.from('7'),
    [HEADERS.originalTopic]: Buffer.from('order.created'),
    [HEADERS.originalOffset]: Buffer.from('42'),
    [HEADERS.errorClass]: Buffer.from('PermanentError'),
    [HEADERS.errorCode]: Buffer.from('PERMANENT'),
    [HEADERS.parked]: Buffer.from('true'),
  };

  it('makes the message due now with a fresh set of attempts and one more replay counted', () => {
    const headers = headersToStrings(replayHeaders(deadLetter(raw), 1_700_000_000_000));
    expect(headers[HEADERS.attempt]).toBe('0');
    expect(headers[HEADERS.dueAt]).toBe('1700000000000');
    expect(headers[HEADERS.replays]).toBe('1');
    expect(headers).not.toHaveProperty(HEADERS.parked);
  });

  it('keeps the event id, where it came from and why it failed', () => {
    const headers = headersToStrings(replayHeaders(deadLetter(raw), 0));
    expect(headers).toMatchObject({
      [HEADERS.eventId]: 'evt-1',
      [HEADERS.originalTopic]: 'order.created',
      [HEADERS.originalOffset]: '42',
      [HEADERS.errorClass]: 'PermanentError',
      [HEADERS.errorCode]: 'PERMANENT',
    });
  });

  it('counts on from earlier replays, and reads a garbled count as none', () => {
    expect(headersToStrings(replayHeaders(deadLetter({ ...raw, [HEADERS.replays]: '2' })))[HEADERS.replays]).toBe('3');
    expect(replaysOf(deadLetter({ [HEADERS.replays]: 'many' }))).toBe(0);
    expect(replaysOf(deadLetter({}))).toBe(0);
  });

  it('leaves the dead letter it was given unchanged', () => {
    const record = deadLetter({ ...raw });
    replayHeaders(record);
    expect(record.rawHeaders).toEqual(raw);
  });
});
