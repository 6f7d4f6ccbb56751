import { TransientError } from '../errors.js';
import type { OutboundMessage, Publisher, TopicMessages } from './port.js';

/** A send before connect(), or after disconnect() and before the next connect(). */
export class PublisherNotConnectedError extends TransientError {
  constructor() {
    super('the publisher is not connected');
  }
}

export interface RenewingPublisherOptions {
  /** A new, unconnected idempotent producer; each one gets a producer id of its own when it connects. */
  create: () => Publisher;
  /** Told when a producer is given up after a failed send (for the log). */
  onRetired?: (error: unknown) => void;
}

/**
 * An idempotent publisher that gives up its producer after a failed send and sends the next batch
 * with a new one (a new producer id, sequence numbers from 0).
 *
 * Why: when a send fails after its retries, kafkajs rolls the partition's sequence numbers back
 * although the broker may have appended the batch (its answer was lost). The same producer's next
 * batch of that partition is then refused with OUT_OF_ORDER_SEQUENCE_NUMBER for ever, or, when it
 * has the lost batch's size, acknowledged as a retry of it and never appended. The caller saw the
 * failure and sends those messages again: on the topic they may be twice, never lost.
 *
 * Sends run one at a time: kafkajs numbers a send's batches when it goes out, so a send started
 * while another is still retrying would take the numbers the failing one rolls back. (Requests to
 * one broker were one at a time already: one in flight per connection.)
 */
export class RenewingPublisher implements Publisher {
  private current: { producer: Publisher; connected: boolean } | undefined;
  /** Until connect(), as kafkajs' producer: a send fails rather than connecting by itself. */
  private closed = true;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly disconnectListeners: Array<() => void> = [];

  constructor(private readonly options: RenewingPublisherOptions) {}

  connect(): Promise<void> {
    this.closed = false;
    return this.serialized(async () => undefined);
  }

  send(topic: string, messages: OutboundMessage[]): Promise<void> {
    return this.serialized((producer) => producer.send(topic, messages));
  }

  sendBatch(batches: readonly TopicMessages[]): Promise<void> {
    return this.serialized((producer) => producer.sendBatch(batches));
  }

  onDisconnect(listener: () => void): void {
    this.disconnectListeners.push(listener);
  }

  /** At once, as the producer underneath would: a send still running fails (the caller stops first). */
  async disconnect(): Promise<void> {
    this.closed = true;
    const current = this.current;
    this.current = undefined;
    try {
      await current?.producer.disconnect();
    } finally {
      for (const listener of this.disconnectListeners) listener();
    }
  }

  private serialized<T>(operation: (producer: Publisher) => Promise<T>): Promise<T> {
    const result = this.queue.then(() => this.withProducer(operation));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async withProducer<T>(operation: (producer: Publisher) => Promise<T>): Promise<T> {
    if (this.closed) throw new PublisherNotConnectedError();
    const current = (this.current ??= { producer: this.options.create(), connected: false });
    if (!current.connected) {
      // One that failed to connect has sent nothing: it connects again, no new one is needed.
      await current.producer.connect();
      if (this.current !== current) {
        // disconnect() came during the connect: close what the connect may have opened since.
        this.discard(current.producer);
        throw new PublisherNotConnectedError();
      }
      current.connected = true;
    }
    try {
      return await operation(current.producer);
    } catch (error) {
      // Not when disconnect() took it away meanwhile: that failure is the disconnect's.
      if (this.current === current) {
        this.current = undefined;
        this.discard(current.producer);
        this.options.onRetired?.(error);
      }
      throw error;
    }
  }

  /** Nothing waits for it: its connections may be the broken ones, and the next send needs none of them. */
  private discard(producer: Publisher): void {
    producer.disconnect().catch(() => undefined);
  }
}
