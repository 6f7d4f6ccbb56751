import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { Backoff } from '../retry/backoff.js';
import { SCHEDULER_CHANNEL } from './jobs.js';

/**
 * Holds a LISTEN on the scheduler's channel and reports each notified due time (epoch ms, database
 * clock). The connection is its own (a pooled one would be handed to others); when it is lost it
 * reconnects with back-off and reports `undefined` once back, since notifications sent meanwhile
 * are gone. The dispatcher's capped sleep covers the gap.
 */
export class WakeListener {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private lost: (() => void) | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly onDue: (dueMs: number | undefined) => void,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.lost?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    let first = true;
    while (!this.stopped) {
      const client = new pg.Client({ connectionString: this.databaseUrl });
      const closed = new Promise<void>((resolve) => {
        this.lost = resolve;
        client.on('error', () => resolve());
        client.on('end', () => resolve());
      });
      client.on('notification', (message) => {
        const dueMs = Number(message.payload);
        this.onDue(Number.isFinite(dueMs) ? dueMs : undefined);
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${SCHEDULER_CHANNEL}`);
        backoff.reset();
        if (!first) this.onDue(undefined);
        first = false;
        await closed;
        if (!this.stopped) this.logger.warn('scheduler listen connection lost; reconnecting');
      } catch (error) {
        if (!this.stopped) {
          const retryInMs = backoff.next();
          this.logger.warn({ err: error, retryInMs }, 'scheduler listen connection failed; retrying');
          await sleep(retryInMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }
}
