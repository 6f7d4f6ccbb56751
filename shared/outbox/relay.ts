import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { HEADERS } from '../consumer/headers.js';
import type { Pool } from '../db.js';
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
   * How long a round holds the rows it claimed: until then no other relay publishes them or the
   * later rows of their keys; after it another relay may take them over. Longer than one batch's
   * send with the client's retries, so only a relay that froze or lost its broker loses its rows.
   * @defaultValue 30000
   */
  leaseMs?: number;
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
 * Publishes a service's outbox rows with an idempotent producer (acks = all). A round claims a batch
 * of unsent rows with a lease (one statement, the database's clock), publishes them holding no
 * lock, then marks them sent if it still holds the lease. A relay that freezes or cannot reach
 * Kafka delays its rows by no more than the lease: then another relay takes them over, and they
 * may be published twice (consumers deduplicate on the event id), never lost.
 *
 * Several instances of a service relay one table side by side, and a key's rows are published in
 * id order however many relays there are: a row is claimed only together with every earlier unsent
 * row of its key, so a key is in one relay's hands at a time. A later copy of a row published twice
 * can follow its key's later rows; first arrivals are in order.
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

  private get leaseSeconds(): number {
    return (this.options.leaseMs ?? 30_000) / 1000;
  }

  /** One round: claim a batch of unsent rows, publish them, mark them sent; returns the rows it claimed. */
  private async relayRound(): Promise<number> {
    const token = randomUUID();
    const rows = await this.claim(token);
    if (rows.length === 0) return 0;
    let unencodable: Map<string, string>;
    try {
      const encoded = await this.encode(rows);
      unencodable = encoded.unencodable;
      if (encoded.byTopic.size > 0) {
        await this.producer!.sendBatch([...encoded.byTopic].map(([topic, messages]) => ({ topic, messages })));
      }
    } catch (error) {
      // Whoever runs the next round need not wait for the lease to expire.
      await this.options.pool
        .query(`UPDATE ${this.table} SET leased_until = NULL WHERE id = ANY($1::bigint[]) AND lease_token = $2`, [rows.map((row) => row.id), token])
        .catch(() => undefined);
      throw error;
    }
    const sentIds = rows.filter((row) => !unencodable.has(row.id)).map((row) => row.id);
    const { rowCount } = await this.options.pool.query(
      `UPDATE ${this.table} SET sent_at = now() WHERE id = ANY($1::bigint[]) AND lease_token = $2`,
      [sentIds, token],
    );
    if ((rowCount ?? 0) < sentIds.length) {
      this.logger.warn(
        { published: sentIds.length, marked: rowCount },
        'lease lost before the rows were marked sent: another relay took them over and publishes them again (consumers deduplicate on the event id)',
      );
    }
    await this.setAside(unencodable, token);
    feed.outboxPublished.publish({ table: this.table, count: sentIds.length });
    this.logger.debug({ count: sentIds.length }, 'published outbox rows');
    return rows.length;
  }

  /**
   * Leases up to a batch of unsent rows, in id order, in one statement. A row is claimable when its
   * lease (if any) expired, no row of its key is held under another lease (filtered before the
   * LIMIT, so a held key does not crowd out the others), and no earlier unsent row of its key is
   * missing from the batch: SKIP LOCKED passes over rows a transaction has locked, such as another
   * relay's claim in flight, and their key must wait for them.
   */
  private async claim(token: string): Promise<OutboxRow[]> {
    // A key's candidates are claimable up to its first gap (an unsent row between two of them, or
    // before its first). The gap check is a scalar subquery, not NOT EXISTS, so it stays an index
    // probe per row instead of becoming an anti-join over the whole backlog.
    const { rows } = await this.options.pool.query<OutboxRow>(
      `WITH candidates AS (
         SELECT id, message_key FROM ${this.table}
          WHERE sent_at IS NULL AND failed_at IS NULL AND (leased_until IS NULL OR leased_until <= now())
            AND message_key NOT IN (
              SELECT message_key FROM ${this.table} WHERE sent_at IS NULL AND failed_at IS NULL AND leased_until > now())
          ORDER BY id LIMIT $1
          FOR UPDATE SKIP LOCKED
       ), chained AS (
         SELECT id, message_key, lag(id, 1, 0::bigint) OVER (PARTITION BY message_key ORDER BY id) AS previous FROM candidates
       ), gapped AS (
         SELECT c.id, c.message_key,
                (SELECT gap.id FROM ${this.table} gap
                  WHERE gap.message_key = c.message_key AND gap.id > c.previous AND gap.id < c.id
                    AND gap.sent_at IS NULL AND gap.failed_at IS NULL
                  LIMIT 1) IS NOT NULL AS after_gap
           FROM chained c
       ), claimable AS (
         SELECT id FROM (
           SELECT id, bool_or(after_gap) OVER (PARTITION BY message_key ORDER BY id) AS blocked FROM gapped) g
          WHERE NOT blocked
       )
       UPDATE ${this.table} SET leased_until = now() + make_interval(secs => $2), lease_token = $3
        WHERE id = ANY(ARRAY(SELECT id FROM claimable))
       RETURNING id, event_id, topic, message_key, payload, headers`,
      [this.batchSize, this.leaseSeconds, token],
    );
    // RETURNING has no order; a batch must go out in id order (ids are bigints, as strings).
    return rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
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

  private async setAside(unencodable: Map<string, string>, token: string): Promise<void> {
    for (const [id, error] of unencodable) {
      await this.options.pool.query(`UPDATE ${this.table} SET failed_at = now(), error = $2 WHERE id = $1 AND lease_token = $3`, [id, error, token]);
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
