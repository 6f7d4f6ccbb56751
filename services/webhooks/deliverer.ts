import { Counter, Gauge, Histogram } from 'prom-client';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import type { AttemptOutcome, Deliveries, DeliveryRef } from './deliveries.js';
import type { Sender } from './sender.js';

const attemptsTotal = new Counter({
  name: 'webhooks_attempts_total',
  help: 'Webhook delivery attempts by what followed: succeeded, retrying, dead (dead-lettered), endpoint-disabled (410), superseded',
  labelNames: ['outcome'] as const,
  registers: [metrics],
});

const attemptSeconds = new Histogram({
  name: 'webhooks_attempt_duration_seconds',
  help: 'How long one delivery attempt took, answer included',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
  registers: [metrics],
});

const queuedGauge = new Gauge({ name: 'webhooks_queued_attempts', help: 'Attempts waiting in this process for their endpoint', registers: [metrics] });

export interface DelivererOptions {
  deliveries: Pick<Deliveries, 'claim' | 'finish'>;
  sender: Pick<Sender, 'send'>;
  logger: Logger;
  /** Attempts in flight per endpoint. */
  perEndpoint: number;
  /** Attempts in flight in this process. */
  total: number;
}

interface EndpointQueue {
  active: number;
  waiting: DeliveryRef[];
}

/**
 * Runs attempts outside the consumer's handlers, one queue per endpoint with a few attempts in flight
 * each: an endpoint that hangs for the whole timeout holds its own slots, never another endpoint's
 * deliveries nor a partition. The queues are only a schedule: the delivery row and its job on the
 * scheduler are the durable state (deliveries.ts), so whatever is queued here when the process dies
 * is attempted again when its job falls due.
 */
export class Deliverer {
  private readonly queues = new Map<string, EndpointQueue>();
  /** Queued or running, by delivery and attempt count: a job arriving twice queues one attempt. */
  private readonly known = new Set<string>();
  private active = 0;
  private readonly stopping = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: DelivererOptions) {}

  enqueue(refs: readonly DeliveryRef[]): void {
    if (this.stopping.signal.aborted) return;
    for (const ref of refs) {
      const id = `${ref.deliveryId}/${ref.attemptsDone}`;
      if (this.known.has(id)) continue;
      this.known.add(id);
      let queue = this.queues.get(ref.endpointId);
      if (!queue) this.queues.set(ref.endpointId, (queue = { active: 0, waiting: [] }));
      queue.waiting.push(ref);
      queuedGauge.inc();
    }
    this.pump();
  }

  /** Stops taking attempts and abandons the ones in flight (each is recorded, and retried on schedule). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.running]);
  }

  private pump(): void {
    for (const [endpointId, queue] of this.queues) {
      while (queue.waiting.length > 0 && queue.active < this.options.perEndpoint && this.active < this.options.total) {
        const ref = queue.waiting.shift()!;
        queuedGauge.dec();
        queue.active += 1;
        this.active += 1;
        const run = this.attempt(ref).finally(() => {
          queue.active -= 1;
          this.active -= 1;
          this.known.delete(`${ref.deliveryId}/${ref.attemptsDone}`);
          this.running.delete(run);
          if (queue.active === 0 && queue.waiting.length === 0) this.queues.delete(endpointId);
          if (!this.stopping.signal.aborted) this.pump();
        });
        this.running.add(run);
      }
      if (this.active >= this.options.total) return;
    }
  }

  private async attempt(ref: DeliveryRef): Promise<void> {
    const log = this.options.logger.child({ deliveryId: ref.deliveryId, endpointId: ref.endpointId });
    try {
      const claimed = await this.options.deliveries.claim(ref);
      if (!claimed) return;
      const started = performance.now();
      const result = await this.options.sender.send(claimed, this.stopping.signal);
      attemptSeconds.observe((performance.now() - started) / 1000);
      const outcome: AttemptOutcome = await this.options.deliveries.finish(claimed, result);
      attemptsTotal.inc({ outcome });
      const fields = { messageId: claimed.messageId, attempt: claimed.attempt, status: result.status, error: result.error, outcome };
      if (outcome === 'succeeded') log.debug(fields, 'webhook delivered');
      else log.info(fields, 'webhook attempt failed');
    } catch (error) {
      // A database failure: the delivery's job is due at the lease's end, and that attempt tries again.
      log.warn({ error: errorMessage(error) }, 'webhook attempt could not start or be recorded; its job retries it');
    }
  }
}
