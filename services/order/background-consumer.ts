import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsumerRuntime } from '../../shared/consumer/consumer-runtime.js';
import type { Logger } from '../../shared/logger.js';

/**
 * Starts a consumer runtime in the background and retries while Kafka cannot be reached, so the
 * order API comes up and takes orders (into its outbox) during a broker outage instead of exiting.
 */
export class BackgroundConsumer {
  private stopped = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly runtime: ConsumerRuntime,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  isReady(): boolean {
    return this.runtime.isReady();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.runtime.stop();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoffMs = 500;
    while (!this.stopped) {
      try {
        await this.runtime.start();
        return;
      } catch (error) {
        if (this.stopped) return;
        this.logger.warn({ err: error, group: this.runtime.groupId, retryInMs: backoffMs }, 'consumer could not start; retrying');
        await this.runtime.stop().catch(() => undefined);
        await sleep(backoffMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }
}
