import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { KeyOrder } from '../../../shared/consumer/key-order.js';
import { consumerRuntimeSql } from '../../../shared/consumer/processed-events.js';
import { topics } from '../../../shared/contracts/topics.js';
import { applySchema, createPool, type Pool } from '../../../shared/db.js';
import { feed, type ConsumerKeyHeadReleased } from '../../../shared/instrumentation/events.js';
import { subscribeMetrics } from '../../../shared/instrumentation/metrics.js';
import { publishOrders, sampleOrder } from '../../support/orders.js';
import { testGroup, testRuntime } from '../../support/runtime.js';
import { eventually, testConfig, testLogger, uniqueId } from '../../support/stack.js';

/** One retry tier of 200 ms: the longest retry path is 200 ms, and a head unseen for 10 times that is lost. */
const retry = { attempts: 2, baseDelayMs: 200, maxDelayMs: 200, jitterRatio: 0 };
const boundMs = 2000;

let pool: Pool;
const running: ConsumerRuntime[] = [];
const unsubscribes: Array<() => void> = [];

beforeAll(async () => {
  pool = createPool(testConfig().databaseUrl, testLogger);
  await applySchema(pool, consumerRuntimeSql);
});

afterAll(async () => {
  for (const unsubscribe of unsubscribes) unsubscribe();
  await Promise.all(running.map((runtime) => runtime.stop()));
  await pool.end();
});

describe('ordered retries: a key queue head whose message can no longer arrive', () => {
  it('is released once unseen for the bound, with an alert; the parked event of its key is then handled', async () => {
    const group = await testGroup({ orderedRetries: true, retry });
    const order = sampleOrder();
    const handled: number[] = [];
    const alerts: ConsumerKeyHeadReleased[] = [];
    unsubscribes.push(feed.consumerKeyHeadReleased.subscribe((alert) => alert.group === group.groupId && alerts.push(alert)));
    const registry = new Registry();
    unsubscribes.push(subscribeMetrics(registry));
    const runtime = testRuntime(group, pool).on(topics.orderCreated, async (event) => {
      if (event.eventId === order.eventId) handled.push(Date.now());
    });
    running.push(runtime);
    await runtime.start();

    // The head of the order's key is an event whose message exists nowhere (lost to retention, a
    // recreated retry topic, a failed write after the enqueue).
    const lost = uniqueId('evt-lost');
    const queuedAt = Date.now();
    await pool.query('INSERT INTO retry_key_queue (consumer_group, message_key, event_id) VALUES ($1, $2, $3)', [group.groupId, order.orderId, lost]);
    await publishOrders([order]);
    await eventually(async () => (handled.length > 0 ? true : undefined), 'the event of the blocked key handled', 30_000);

    const waited = handled[0]! - queuedAt;
    console.log(`stale key head released: the key's event was handled ${waited} ms after the lost head was queued (bound ${boundMs} ms)`);
    expect(waited).toBeGreaterThanOrEqual(boundMs);
    expect(waited).toBeLessThan(boundMs + 15_000);
    expect(alerts).toEqual([{ group: group.groupId, keyHash: expect.stringMatching(/^[0-9a-f]{16}$/), eventId: lost, idleSeconds: expect.any(Number) }]);
    expect(alerts[0]!.idleSeconds).toBeGreaterThanOrEqual(boundMs / 1000);
    expect(JSON.stringify(alerts)).not.toContain(order.orderId);
    expect(await registry.getSingleMetricAsString('pipeline_key_heads_released_total')).toContain(`pipeline_key_heads_released_total{group="${group.groupId}"} 1`);
    const left = await pool.query('SELECT count(*)::int AS n FROM retry_key_queue WHERE consumer_group = $1', [group.groupId]);
    expect(left.rows[0].n).toBe(0);
  });

  it('pruning deletes the group\'s rows unseen for longer than the bound, heads or not, and alerts on each', async () => {
    const group = uniqueId('prune-keys');
    const other = uniqueId('prune-keys-other');
    const alerts: ConsumerKeyHeadReleased[] = [];
    unsubscribes.push(feed.consumerKeyHeadReleased.subscribe((alert) => alert.group === group && alerts.push(alert)));
    await pool.query(
      `INSERT INTO retry_key_queue (consumer_group, message_key, event_id, seen_at) VALUES
         ($1, 'k1', 'lost-head', now() - interval '2 minutes'), ($1, 'k1', 'lost-behind', now() - interval '2 minutes'),
         ($1, 'k2', 'live', now() - interval '10 seconds'), ($2, 'k1', 'other-group', now() - interval '2 minutes')`,
      [group, other],
    );
    const keyOrder = new KeyOrder(pool, group, { staleAfterMs: 60_000, logger: testLogger });
    // A member that has just joined prunes nothing: what it has not read yet may still come.
    keyOrder.joined();
    expect(await keyOrder.prune()).toBe(0);
    keyOrder.joined(Date.now() - 61_000);
    expect(await keyOrder.prune()).toBe(2);
    expect(alerts.map((alert) => alert.eventId).sort()).toEqual(['lost-behind', 'lost-head']);
    const left = await pool.query<{ consumer_group: string; event_id: string }>(
      'SELECT consumer_group, event_id FROM retry_key_queue WHERE consumer_group = ANY($1) ORDER BY event_id',
      [[group, other]],
    );
    expect(left.rows).toEqual([
      { consumer_group: group, event_id: 'live' },
      { consumer_group: other, event_id: 'other-group' },
    ]);
  });
});
