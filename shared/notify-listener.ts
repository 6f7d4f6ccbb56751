import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from './logger.js';
import { Backoff } from './retry/backoff.js';

const channelName = /^[a-z_][a-z0-9_]*$/;

/**
 * Holds a LISTEN on PostgreSQL channels and reports each notification's payload. The connection is
 * its own (a pooled one would be handed to others); when it is lost it reconnects with back-off and
 * reports `undefined` once back, since notifications sent meanwhile are gone: a listener's owner
 * keeps a capped poll as its safety net and looks again on `undefined`.
 */
export class NotifyListener {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private lost: (() => void) | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly databaseUrl: string,
    private readonly channels: readonly string[],
    private readonly logger: Logger,
    /** A notification on `channel`, or (both undefined) a reconnection after which anything may have been missed. */
    private readonly onNotify: (payload: string | undefined, channel: string | undefined) => void,
  ) {
    for (const channel of channels) if (!channelName.test(channel)) throw new Error(`channel "${channel}" is not a plain lower-case identifier`);
  }

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
      client.on('notification', (message) => this.onNotify(message.payload ?? '', message.channel));
      try {
        await client.connect();
        for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
        backoff.reset();
        if (!first) this.onNotify(undefined, undefined);
        first = false;
        await closed;
        if (!this.stopped) this.logger.warn({ channels: this.channels }, 'listen connection lost; reconnecting');
      } catch (error) {
        if (!this.stopped) {
          const retryInMs = backoff.next();
          this.logger.warn({ err: error, retryInMs, channels: this.channels }, 'listen connection failed; retrying');
          await sleep(retryInMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    }
  }
}
