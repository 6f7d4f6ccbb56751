import { describe, expect, it } from 'vitest';
import type { OutboundMessage, Publisher, TopicMessages } from '../../../shared/kafka/port.js';
import { PublisherNotConnectedError, RenewingPublisher } from '../../../shared/kafka/renewing-publisher.js';

/** A producer whose operations wait until the test settles them. */
class FakeProducer implements Publisher {
  readonly calls: string[] = [];
  private readonly pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(readonly id: number) {}

  private call(name: string): Promise<void> {
    this.calls.push(name);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  connect = () => this.call('connect');
  send = (topic: string, messages: OutboundMessage[]) => this.call(`send ${topic} ${messages.length}`);
  sendBatch = (batches: readonly TopicMessages[]) => this.call(`sendBatch ${batches.map((b) => b.topic).join()}`);
  onDisconnect(): void {}
  disconnect = async () => void this.calls.push('disconnect');

  /** Settles the oldest operation still waiting. */
  settle(error?: Error): void {
    const next = this.pending.shift();
    if (!next) throw new Error(`producer ${this.id} has nothing waiting (calls: ${this.calls.join(', ')})`);
    if (error) next.reject(error);
    else next.resolve();
  }

  get waiting(): number {
    return this.pending.length;
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const message: OutboundMessage = { key: 'k', value: Buffer.from('v') };

function publisher() {
  const producers: FakeProducer[] = [];
  const retired: unknown[] = [];
  const renewing = new RenewingPublisher({
    create: () => {
      const producer = new FakeProducer(producers.length + 1);
      producers.push(producer);
      return producer;
    },
    onRetired: (error) => retired.push(error),
  });
  return { renewing, producers, retired };
}

/** Settles `producer`'s operations as they arrive, successfully, until `until` settles. */
async function answer<T>(producer: () => FakeProducer | undefined, until: Promise<T>): Promise<T> {
  let done = false;
  const result = until.finally(() => (done = true));
  while (!done) {
    await flush();
    const current = producer();
    if (current?.waiting) current.settle();
  }
  return result;
}

describe('RenewingPublisher', () => {
  it('keeps one producer while sends succeed, connecting it once', async () => {
    const { renewing, producers } = publisher();
    await answer(() => producers[0], renewing.connect());
    await answer(() => producers[0], renewing.send('a', [message]));
    await answer(() => producers[0], renewing.sendBatch([{ topic: 'b', messages: [message] }]));
    expect(producers).toHaveLength(1);
    expect(producers[0]!.calls).toEqual(['connect', 'send a 1', 'sendBatch b']);
  });

  it('gives up a producer whose send failed and sends the next batch with a new, connected one', async () => {
    const { renewing, producers, retired } = publisher();
    await answer(() => producers[0], renewing.connect());
    const failed = renewing.send('a', [message]);
    await flush();
    const lost = new Error('Closed connection');
    producers[0]!.settle(lost);
    await expect(failed).rejects.toBe(lost);
    expect(retired).toEqual([lost]);
    expect(producers[0]!.calls).toEqual(['connect', 'send a 1', 'disconnect']);

    await answer(() => producers.at(-1), renewing.send('a', [message, message]));
    expect(producers).toHaveLength(2);
    expect(producers[1]!.calls).toEqual(['connect', 'send a 2']);
  });

  it('runs sends one at a time: a send made while another fails goes to the next producer', async () => {
    const { renewing, producers } = publisher();
    await answer(() => producers[0], renewing.connect());
    const first = renewing.send('a', [message]);
    const second = renewing.send('a', [message]);
    const third = renewing.send('b', [message]);
    await flush();
    expect(producers[0]!.calls).toEqual(['connect', 'send a 1']);

    producers[0]!.settle(new Error('Number of retries exceeded'));
    await expect(first).rejects.toThrow('Number of retries exceeded');
    await answer(() => producers.at(-1), Promise.all([second, third]));
    expect(producers[0]!.calls).toEqual(['connect', 'send a 1', 'disconnect']);
    expect(producers[1]!.calls).toEqual(['connect', 'send a 1', 'send b 1']);
  });

  it('connects a producer that failed to connect again: it sent nothing, so no new one is needed', async () => {
    const { renewing, producers, retired } = publisher();
    const connecting = renewing.connect();
    await flush();
    producers[0]!.settle(new Error('Connection refused'));
    await expect(connecting).rejects.toThrow('Connection refused');

    await answer(() => producers[0], renewing.send('a', [message]));
    expect(producers).toHaveLength(1);
    expect(producers[0]!.calls).toEqual(['connect', 'connect', 'send a 1']);
    expect(retired).toEqual([]);
  });

  it('a send before connect() fails and creates no producer', async () => {
    const { renewing, producers } = publisher();
    await expect(renewing.send('a', [message])).rejects.toBeInstanceOf(PublisherNotConnectedError);
    expect(producers).toHaveLength(0);
  });

  it('disconnect() closes it: sends fail until connect(), which starts a new producer', async () => {
    const { renewing, producers, retired } = publisher();
    let disconnected = 0;
    renewing.onDisconnect(() => disconnected++);
    await answer(() => producers[0], renewing.connect());
    const running = renewing.send('a', [message]);
    await flush();

    await renewing.disconnect();
    expect(disconnected).toBe(1);
    producers[0]!.settle(new Error('The producer is disconnecting'));
    await expect(running).rejects.toThrow('disconnecting');
    // The disconnect's doing, not a failed producer.
    expect(retired).toEqual([]);
    await expect(renewing.send('a', [message])).rejects.toBeInstanceOf(PublisherNotConnectedError);
    expect(producers).toHaveLength(1);

    await answer(() => producers.at(-1), renewing.connect());
    await answer(() => producers.at(-1), renewing.send('a', [message]));
    expect(producers).toHaveLength(2);
    expect(producers[1]!.calls).toEqual(['connect', 'send a 1']);
  });

  it('a disconnect() during a connect closes the producer that was connecting', async () => {
    const { renewing, producers } = publisher();
    const connecting = renewing.connect();
    await flush();
    await renewing.disconnect();
    producers[0]!.settle();
    await expect(connecting).rejects.toBeInstanceOf(PublisherNotConnectedError);
    // Closed again once the connect is over, in case it opened connections after the first close.
    expect(producers[0]!.calls).toEqual(['connect', 'disconnect', 'disconnect']);
  });
});
