import { feed } from '../instrumentation/events.js';
import type { BatchControl, SourceBatch, SourceMessage } from '../kafka/port.js';
import type { EventDecoder } from './event-decoder.js';
import type { Failures } from './failures.js';
import type { HandlerDeadline } from './handler-deadline.js';
import type { BatchHeartbeat } from './heartbeat.js';
import type { DecodedEvent } from './inbound-event.js';
import type { KeyOrder } from './key-order.js';
import type { ConsumePath, Route } from './route.js';

/** Per-batch tally reported on the feed; `seconds` is filled only while someone listens. */
interface Tally {
  processed: number;
  seconds: number[] | undefined;
}

/**
 * Events handled one at a time, in offset order. An offset counts as done once its event was
 * handled (or routed to a retry tier or the DLQ); done offsets are committed about every
 * `commitIntervalMs` inside long batches too, so a crash redelivers little.
 *
 * The hot loop avoids work per message: decoding is synchronous once the writer schema is known,
 * the offset is resolved and the commit checked only every few milliseconds and staleness once a
 * millisecond (each is costly in kafkajs), outcomes are reported once per batch, and handler timing
 * is kept only while the feed has a listener (the handler deadline measures it).
 */
export class EventPath implements ConsumePath {
  private readonly deliver: (route: Route, event: DecodedEvent, tally: Tally) => Promise<unknown>;

  constructor(
    private readonly decoder: EventDecoder,
    private readonly failures: Failures,
    private readonly group: string,
    private readonly commitIntervalMs: number,
    keyOrder: KeyOrder | undefined,
    private readonly deadline: HandlerDeadline,
  ) {
    // Picked once: groups without ordered retries never look at keys.
    this.deliver = keyOrder ? (route, event, tally) => this.deliverOrdered(keyOrder, route, event, tally) : (route, event, tally) => this.handle(route, event, tally);
  }

  async consume(route: Route, batch: SourceBatch, messages: readonly SourceMessage[], control: BatchControl, heartbeat: BatchHeartbeat): Promise<void> {
    const from = { topic: batch.topic, partition: batch.partition };
    const tally: Tally = { processed: 0, seconds: feed.consumerProcessed.active ? [] : undefined };
    // kafkajs commits only when its interval has passed: asking it per message costs an async call each.
    const checkEvery = Math.max(1, Math.min(100, this.commitIntervalMs / 4));
    let nextCheck = Date.now() + checkEvery;
    /** The last offset handled (or routed), and the last one told to the client. */
    let handled: string | undefined;
    let resolved: string | undefined;
    // Whether to go on is asked once per millisecond: kafkajs' staleness check builds a key string
    // per call, which at this rate costs more than the rest of the loop.
    let now = Date.now();
    let askedAt = -1;
    try {
      for (const message of messages) {
        if (heartbeat.failure) throw heartbeat.failure;
        if (now !== askedAt) {
          askedAt = now;
          if (!control.isRunning() || control.isStale()) break;
        }
        // Anything unusual (a schema not fetched yet, a poison pill) takes the full path.
        const event = this.decoder.decodeNow(route, message, from) ?? (await this.decoder.decode(route, { ...from, message }));
        if (event) await this.deliver(route, event, tally);
        handled = message.offset;
        now = Date.now();
        if (now >= nextCheck) {
          nextCheck = now + checkEvery;
          control.resolveOffset((resolved = handled));
          await control.commitOffsetsIfNecessary();
        }
      }
    } finally {
      // Offsets are resolved when a commit may read them: before a commit check and when the batch
      // ends, also by an error (kafkajs then commits what was resolved). Resolving each message
      // costs kafkajs two 64-bit parses; only the highest offset counts.
      if (handled !== undefined && handled !== resolved) control.resolveOffset(handled);
      if (handled !== undefined && tally.processed > 0) this.report(route, batch, handled, tally);
    }
  }

  private async handle(route: Route, event: DecodedEvent, tally: Tally): Promise<boolean> {
    const handle = (route.registration as Extract<Route['registration'], { kind: 'event' }>).handle;
    try {
      // The deadline times the call (it reads the clock at both ends anyway).
      await this.deadline.event(handle, event, tally.seconds);
    } catch (error) {
      await this.failures.fail(route, { event, error }, event.delivery);
      return false;
    }
    tally.processed++;
    return true;
  }

  private async deliverOrdered(keyOrder: KeyOrder, route: Route, event: DecodedEvent, tally: Tally): Promise<void> {
    const key = event.key;
    let head: string | undefined;
    if (key !== null) {
      head = await keyOrder.head(key, event.eventId);
      if (head !== undefined && head !== event.eventId) {
        await this.failures.park(route, { event }, event.delivery, key, head);
        return;
      }
    }
    const handled = await this.handle(route, event, tally);
    // The head of its key's queue (after a retry, or redelivered after a crash) unblocks the next.
    // Not in handle()'s catch: a failed release must fail the batch, not count the handled event as failed.
    if (handled && key !== null && head === event.eventId) await keyOrder.release(key, event.eventId);
  }

  private report(route: Route, batch: SourceBatch, offset: string, tally: Tally): void {
    feed.consumerProcessed.publish({
      group: this.group,
      topic: route.registration.source.name,
      deliveredFrom: batch.topic,
      partition: batch.partition,
      offset,
      count: tally.processed,
      handlerSeconds: tally.seconds ?? [],
    });
  }
}
