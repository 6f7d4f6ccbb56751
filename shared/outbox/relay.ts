import { setTimeout as sleep } from 'node:timers/promises';
import { HEADERS } from '../consumer/headers.js';
import { withTransaction, type Pool, type PoolClient } from '../db.js';
import { PermanentError, errorMessage } from '../errors.js';
import { errorFields, feed } from '../instrumentation/events.js';
import type { KafkaClient, OutboundMessage, Publisher } from '../kafka/port.js';
import type { TopicLookup } from '../kafka/topology.js';
import type { Logger } from '../logger.js';
import type { AvroSerde } from '../registry/serde.js';
import { Backoff } from '../retry/backoff.js';
import { outboxTable } from './outbox.js';

export interface OutboxRelayOptions {
  pool: Pool;
  /** The Kafka client (port.ts): the relay publishes through its idempotent publisher. */
  client: KafkaClient;
  serde: AvroSerde;
  logger: Logger;
  table: string;
  /** The declared topics, by name: the outbox stores a topic's name, the relay needs its schema. */
  topics: TopicLookup;
  /**
   * Rows published per round (one Kafka request and one UPDATE).
   * @defaultValue 500
   */
  batchSize?: number;
  /**
   * The safety net: rows nobody woke the relay for (written by another instance that died, or
   * left unsent when the broker was down) are found within this time.
   * @defaultValue 1000
   */
  pollIntervalMs?: number;
  /**
   * Longest pause after a failed round; pauses double from 200 ms up to this.
   * @defaultValue 5000
   */
  maxBackoffMs?: number;
  /**
   * Sent rows older than this are deleted (checked every few minutes).
   * @defaultValue 86400000 (one day)
   */
  retentionMs?: number;
}

interface OutboxRow {
  id: string;
  event_id: string;
  topic: string;
  message_key: string;
  payload: unknown;
  headers: Record<string, string>;
}

/**
 * Publishes a service's outbox rows in id order with an idempotent producer (acks = all), then marks
 * them sent in the same transaction that locked them. Several instances of a service relay one
 * table side by side: a round first takes the table's advisory lock, so rounds run one after
 * another whichever instance runs them, and a key's rows are published in id order however many
 * relays there are (a round is one batched send, so taking turns costs little).
 *
 * Wake-ups: the writer calls wake() after its commit, so a new row is published within
 * milliseconds; the poll is only the safety net. A restart resumes every unsent row.
 */
export class OutboxRelay {
  private readonly table: string;
  private readonly logger: Logger;
  private producer: Publisher | undefined;
  private connected = false;
  private stopped = false;
  private dirty = true;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private lastCleanup = 0;
  private lastBacklogReport = 0;
  private consecutiveFailures = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.table = outboxTable(options.table);
    this.logger = options.logger.child({ component: 'outbox-relay', table: this.table });
  }

  /** Starts relaying in the background; never throws, so a service can start while Kafka is down. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Something was committed to the outbox: publish it now instead of at the next poll. */
  wake(): void {
    this.dirty = true;
    this.wakeUp?.();
  }

  /** True while the producer is connected (for readiness). */
  isConnected(): boolean {
    return this.connected;
  }

  /**
   * Finishes the round in progress and publishes what was committed meanwhile (the HTTP server
   * stops first), then disconnects. Rows it could not publish wait for the next start.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
    if (this.connected) {
      await this.relayRound().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'last relay round failed; unsent rows wait for the next start'),
      );
    }
    await this.producer?.disconnect().catch(() => undefined);
    this.connected = false;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: this.options.maxBackoffMs ?? 5000 });
    while (!this.stopped) {
      try {
        await this.connect();
        this.dirty = false;
        const count = await this.relayRound();
        backoff.reset();
        this.consecutiveFailures = 0;
        await this.cleanupIfDue();
        await this.reportBacklogIfDue();
        // A full round means more rows are probably waiting.
        if (count === this.batchSize || this.dirty) continue;
      } catch (error) {
        feed.outboxRelayFailed.publish({ table: this.table, ...errorFields(error) });
        this.consecutiveFailures++;
        await this.reportBacklogIfDue();
        const backoffMs = backoff.next();
        this.logger.warn({ err: error, retryInMs: backoffMs }, 'outbox relay round failed; rows stay unsent and will be retried');
        await this.pause(backoffMs);
        continue;
      }
      await this.pause(this.options.pollIntervalMs ?? 1000);
    }
  }

  private get batchSize(): number {
    return this.options.batchSize ?? 500;
  }

  /** Waits for a wake-up, a stop or the timeout, whichever comes first. */
  private async pause(ms: number): Promise<void> {
    if (this.stopped || this.dirty) return;
    const controller = new AbortController();
    const woken = new Promise<void>((resolve) => (this.wakeUp = resolve));
    await Promise.race([woken, sleep(ms, undefined, { signal: controller.signal }).catch(() => undefined)]);
    controller.abort();
    this.wakeUp = undefined;
  }

  private async connect(): Promise<void> {
    if (this.connected) return;
    if (!this.producer) {
      const producer = this.options.client.publisher();
      producer.onDisconnect(() => (this.connected = false));
      this.producer = producer;
    }
    await this.producer.connect();
    this.connected = true;
    this.logger.info('producer connected');
  }

  /** One round: lock a batch of unsent rows, publish them, mark them sent; returns the rows it took. */
  private async relayRound(): Promise<number> {
    return withTransaction(this.options.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`outbox relay ${this.table}`]);
      const { rows } = await client.query<OutboxRow>(
        `SELECT id, event_id, topic, message_key, payload, headers FROM ${this.table}
          WHERE sent_at IS NULL AND failed_at IS NULL
          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.batchSize],
      );
      if (rows.length === 0) return 0;
      const { byTopic, unencodable } = await this.encode(rows);
      if (byTopic.size > 0) {
        await this.producer!.sendBatch([...byTopic].map(([topic, messages]) => ({ topic, messages })));
      }
      const sentIds = rows.filter((row) => !unencodable.has(row.id)).map((row) => row.id);
      await client.query(`UPDATE ${this.table} SET sent_at = now() WHERE id = ANY($1::bigint[])`, [sentIds]);
      await this.setAside(client, unencodable);
      feed.outboxPublished.publish({ table: this.table, count: sentIds.length });
      this.logger.debug({ count: sentIds.length }, 'published outbox rows');
      return rows.length;
    });
  }

  private async encode(rows: OutboxRow[]): Promise<{ byTopic: Map<string, OutboundMessage[]>; unencodable: Map<string, string> }> {
    const byTopic = new Map<string, OutboundMessage[]>();
    const unencodable = new Map<string, string>();
    for (const row of rows) {
      const topic = this.options.topics(row.topic);
      let value: Buffer;
      try {
        if (!topic) throw new PermanentError(`topic ${row.topic} is not declared`);
        value = await this.options.serde.encode(topic, row.payload);
      } catch (error) {
        // A row that can never be encoded must not block the rows behind it; other errors (the
        // registry being down) fail the round and it is retried.
        if (!(error instanceof PermanentError)) throw error;
        unencodable.set(row.id, errorMessage(error));
        continue;
      }
      const messages = byTopic.get(row.topic) ?? [];
      messages.push({ key: row.message_key, value, headers: { ...row.headers, [HEADERS.eventId]: row.event_id } });
      byTopic.set(row.topic, messages);
    }
    return { byTopic, unencodable };
  }

  private async setAside(client: PoolClient, unencodable: Map<string, string>): Promise<void> {
    for (const [id, error] of unencodable) {
      await client.query(`UPDATE ${this.table} SET failed_at = now(), error = $2 WHERE id = $1`, [id, error]);
      feed.outboxUnpublishable.publish({ table: this.table, outboxId: id, error });
      this.logger.error({ outboxId: id, error }, 'outbox row can never be published; set aside (failed_at)');
    }
  }

  /**
   * The relay's health for whoever listens (metrics, the dashboard), at most once a second: a
   * growing backlog or failures in a row say the relay cannot publish, while the service stays
   * ready to take writes. The database may be the thing that is down: then only the failures.
   */
  private async reportBacklogIfDue(): Promise<void> {
    const now = Date.now();
    if (!feed.outboxBacklog.active || now - this.lastBacklogReport < 1000) return;
    this.lastBacklogReport = now;
    const backlog = await this.options.pool
      .query<{ unsent: number; oldest: number }>(
        `SELECT count(*)::int AS unsent, COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest
           FROM ${this.table} WHERE sent_at IS NULL AND failed_at IS NULL`,
      )
      .then(
        ({ rows }) => ({ unsent: rows[0]?.unsent, oldestUnsentSeconds: rows[0]?.oldest }),
        () => ({}),
      );
    feed.outboxBacklog.publish({ table: this.table, consecutiveFailures: this.consecutiveFailures, ...backlog });
  }

  private async cleanupIfDue(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCleanup < 5 * 60_000) return;
    this.lastCleanup = now;
    const retentionMs = this.options.retentionMs ?? 24 * 3600_000;
    const { rowCount } = await this.options.pool.query(
      `DELETE FROM ${this.table} WHERE sent_at < now() - make_interval(secs => $1)`,
      [retentionMs / 1000],
    );
    if (rowCount) this.logger.info({ deleted: rowCount }, 'deleted old sent outbox rows');
  }
}
