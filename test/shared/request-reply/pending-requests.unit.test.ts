import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestReplyOverloadedError } from '../../../shared/request-reply/errors.js';
import { PendingRequests } from '../../../shared/request-reply/pending-requests.js';

describe('PendingRequests', () => {
  afterEach(() => void vi.useRealTimers());

  it('settles a request with its reply once; a second copy is not an answer', async () => {
    const counts: number[] = [];
    const pending = new PendingRequests<string>({ maxInFlight: 10, onInFlight: (n) => counts.push(n) });
    const waiting = pending.wait('a', 1000, Date.now() + 60_000);
    expect(pending.match('a', 'reply')).toBe('settled');
    expect(pending.match('a', 'again')).toBe('unknown');
    await expect(waiting).resolves.toEqual({ kind: 'reply', reply: 'reply' });
    expect(pending.inFlight).toBe(0);
    expect(counts).toEqual([1, 0]);
  });

  it('drops a reply for an id it never sent (another instance, or older than it)', () => {
    const pending = new PendingRequests<string>({ maxInFlight: 10 });
    expect(pending.match('stranger', 'reply')).toBe('unknown');
  });

  it('times a request out, then takes its reply as late once, until the deadline', async () => {
    vi.useFakeTimers();
    const pending = new PendingRequests<string>({ maxInFlight: 10 });
    const waiting = pending.wait('a', 100, Date.now() + 5000);
    const other = pending.wait('b', 100, Date.now() + 5000);
    await vi.advanceTimersByTimeAsync(100);
    await expect(waiting).resolves.toEqual({ kind: 'timeout' });
    await expect(other).resolves.toEqual({ kind: 'timeout' });
    expect(pending.inFlight).toBe(0);
    expect(pending.match('a', 'late reply')).toBe('late');
    expect(pending.match('a', 'late copy')).toBe('unknown');
    await vi.advanceTimersByTimeAsync(6000);
    // Past its deadline, swept: the replier drops such requests, so a reply now is a stray copy.
    expect(pending.match('b', 'too late')).toBe('unknown');
  });

  it('refuses a request over the bound without registering it', async () => {
    const pending = new PendingRequests<string>({ maxInFlight: 2 });
    const first = pending.wait('a', 1000, Date.now() + 1000);
    const second = pending.wait('b', 1000, Date.now() + 1000);
    expect(() => pending.wait('c', 1000, Date.now() + 1000)).toThrow(RequestReplyOverloadedError);
    expect(pending.inFlight).toBe(2);
    pending.forget('a');
    pending.match('b', 'reply');
    await second;
    expect(pending.inFlight).toBe(0);
    void first;
  });

  it('ends every waiting request as a timeout when stopped', async () => {
    const pending = new PendingRequests<string>({ maxInFlight: 10 });
    const waiting = [pending.wait('a', 60_000, Date.now() + 60_000), pending.wait('b', 60_000, Date.now() + 60_000)];
    pending.timeOutAll();
    await expect(Promise.all(waiting)).resolves.toEqual([{ kind: 'timeout' }, { kind: 'timeout' }]);
    expect(pending.inFlight).toBe(0);
  });
});
