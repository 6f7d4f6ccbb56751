import type { OutboundMessage, Publisher, TopicMessages } from '../kafka/port.js';

interface Queued {
  topic: string;
  message: OutboundMessage;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Sends messages through a publisher, which sends one request at a time: what arrives while a send
 * is out goes together in the next one, so fifty concurrent requests cost a few produce round trips
 * instead of fifty in a row.
 */
export class CoalescingSender {
  private queue: Queued[] = [];
  private flushing = false;

  constructor(private readonly publisher: Publisher) {}

  send(topic: string, message: OutboundMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, message, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const byTopic = new Map<string, TopicMessages>();
      for (const { topic, message } of batch) {
        let entry = byTopic.get(topic);
        if (!entry) byTopic.set(topic, (entry = { topic, messages: [] }));
        entry.messages.push(message);
      }
      try {
        await this.publisher.sendBatch([...byTopic.values()]);
        for (const queued of batch) queued.resolve();
      } catch (error) {
        for (const queued of batch) queued.reject(error);
      }
    }
    this.flushing = false;
  }
}
