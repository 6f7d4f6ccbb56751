import { describe, expect, it } from 'vitest';
import type { Publisher, TopicMessages } from '../../../shared/kafka/port.js';
import { CoalescingSender } from '../../../shared/request-reply/coalescing-sender.js';

function recordingPublisher(fail = () => false) {
  const sends: TopicMessages[][] = [];
  let release: (() => void) | undefined;
  const publisher: Publisher = {
    connect: async () => {},
    send: async () => {},
    sendBatch: async (batches) => {
      sends.push(batches.map((b) => ({ topic: b.topic, messages: [...b.messages] })));
      await new Promise<void>((resolve) => (release = resolve));
      if (fail()) throw new Error('send failed');
    },
    onDisconnect: () => {},
    disconnect: async () => {},
  };
  return { publisher, sends, release: () => release?.() };
}

describe('CoalescingSender', () => {
  it('sends what arrives during a send together in the next one, grouped by topic', async () => {
    const { publisher, sends, release } = recordingPublisher();
    const sender = new CoalescingSender(publisher);
    const first = sender.send('t', { key: '1', value: null });
    const rest = [sender.send('t', { key: '2', value: null }), sender.send('u', { key: '3', value: null }), sender.send('t', { key: '4', value: null })];
    release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await Promise.all(rest);
    expect(sends.map((send) => send.map((b) => [b.topic, b.messages.map((m) => m.key)]))).toEqual([
      [['t', ['1']]],
      [
        ['t', ['2', '4']],
        ['u', ['3']],
      ],
    ]);
  });

  it("fails every message of a failed send, and sends later ones", async () => {
    let failing = true;
    const { publisher, release } = recordingPublisher(() => failing);
    const sender = new CoalescingSender(publisher);
    const failed = sender.send('t', { key: '1', value: null });
    release();
    await expect(failed).rejects.toThrow('send failed');
    failing = false;
    const later = sender.send('t', { key: '2', value: null });
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await expect(later).resolves.toBeUndefined();
  });
});
