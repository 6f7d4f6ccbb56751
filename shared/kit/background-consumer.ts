import type { ConsumerRuntime } from '../consumer/consumer-runtime.js';
import type { Logger } from '../logger.js';
import type { BackoffOptions } from '../retry/backoff.js';
import { retrying } from '../retry/retrying.js';

/**
 * Joining a group is heavier than a relay round: the first retry after half a second, then up to
 * ten seconds apart.
 */
const startBackoff: BackoffOptions = { initialMs: 500, maxMs: 10_000 };

/**
 * Starts a consumer runtime in the background and retries while Kafka cannot be reached, so a
 * service with an API comes up and serves (e.g. takes orders into its outbox) during a broker
 * outage instead of exiting.
 */
export class BackgroundConsumer {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly runtime: ConsumerRuntime,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop ??= retrying(() => this.attempt(), {
      signal: this.abort.signal,
      backoff: startBackoff,
      onWait: ({ error, delayMs }) =>
        this.logger.warn({ err: error, group: this.runtime.groupId, retryInMs: delayMs }, 'consumer could not start; retrying'),
    }).catch(() => undefined);
  }

  isReady(): boolean {
    return this.runtime.isReady();
  }

  /** Ends the retries and stops the runtime (see ConsumerRuntime.stop for `timeoutMs`). */
  async stop(timeoutMs?: number): Promise<void> {
    this.abort.abort();
    await this.runtime.stop(timeoutMs);
    await this.loop;
  }

  private async attempt(): Promise<void> {
    try {
      await this.runtime.start();
    } catch (error) {
      // A half-started runtime is stopped before the next attempt (not when stop() already did).
      if (!this.abort.signal.aborted) await this.runtime.stop().catch(() => undefined);
      throw error;
    }
  }
}
