import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS, headersToStrings } from '../../../shared/consumer/headers.js';
import { consumerRuntimeSql, pruneProcessedEvents } from '../../../shared/consumer/processed-events.js';
import type { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { applySchema, createPool, type Pool } from '../../../shared/db.js';
import { PermanentError, TransientError } from '../../../shared/errors.js';
import { topics } from '../../../shared/contracts/topics.js';
import { dlqTopicName, retryTopicName } from '../../../shared/kafka/topology.js';
import { publishOrders, sampleOrder } from '../../support/orders.js';
import { testGroup, testRuntime } from '../../support/runtime.js';
import { eventually, readTopic, testConfig, testLogger, uniqueId } from '../../support/stack.js';

const running: ConsumerRuntime[] = [];
let pool: Pool;

function started(runtime: ConsumerRuntime): ConsumerRuntime {
  running.push(runtime);
  return runtime;
}

beforeAll(async () => {
  pool = createPool(testConfig().databaseUrl, testLogger);
  await applySchema(pool, consumerRuntimeSql);
});

afterAll(async () => {
  await Promise.all(running.map((runtime) => runtime.stop()));
  await pool.end();
});

describe('consumer runtime: retries', () => {
  it('a handler that fails twice then succeeds gets through the retry tiers, never before the due time', async () => {
    const retry = { attempts: 4, baseDelayMs: 400, maxDelayMs: 5000, jitterRatio: 0.2 };
    const group = await testGroup({ retry });
    const order = sampleOrder();
    const calls: Array<{ at: number; attempt: number; dueAt: number; from: string }> = [];
    const runtime = started(testRuntime(group)).on(topics.orderCreated, async (event) => {
      if (event.eventId !== order.eventId) return;
      calls.push({ at: Date.now(), attempt: event.attempt, dueAt: Number(event.headers[HEADERS.dueAt] ?? 0), from: event.deliveredFrom.topic });
      if (calls.length <= 2) throw new TransientError('dependency flaked');
    });
    await runtime.start();
    await publishOrders([order]);
    await eventually(async () => (calls.length >= 3 ? true : undefined), 'the third attempt', 30_000);

    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(calls.map((c) => c.from)).toEqual([
      topics.orderCreated.name,
      `${topics.orderCreated.name}.${group.groupId}.retry.1`,
      `${topics.orderCreated.name}.${group.groupId}.retry.2`,
    ]);
    for (const call of calls.slice(1)) expect(call.at).toBeGreaterThanOrEqual(call.dueAt);
    const gaps = [calls[1]!.at - calls[0]!.at, calls[2]!.at - calls[1]!.at];
    // Configured: 400 ms then 800 ms, each less up to 20 % jitter.
    expect(gaps[0]).toBeGreaterThanOrEqual(400 * 0.8);
    expect(gaps[1]).toBeGreaterThanOrEqual(800 * 0.8);
    console.log(`retry delays: configured 400/800 ms (-20% jitter), measured ${gaps.join('/')} ms`);
  });

  it('a handler that always fails ends in the DLQ after N attempts, with every failure header', async () => {
    const group = await testGroup({ retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000, jitterRatio: 0 } });
    const order = sampleOrder();
    let calls = 0;
    const runtime = started(testRuntime(group)).on(topics.orderCreated, async (event) => {
      if (event.eventId !== order.eventId) return;
      calls++;
      throw new TransientError(`still broken (call ${calls})`);
    });
    await runtime.start();
    await publishOrders([order]);
    // Only our event: the group also reads earlier tests' messages, poison pills included.
    const ours = <M extends { key: Buffer | null }>(seen: ReadonlyArray<M>) => seen.filter((m) => m.key?.toString() === order.orderId);
    const dlq = ours(await readTopic(dlqTopicName(topics.orderCreated, group.groupId), (seen) => ours(seen).length > 0));
    expect(calls).toBe(3);
    expect(dlq).toHaveLength(1);
    const [message] = dlq;
    const original = await readTopic(topics.orderCreated.name, (seen) => seen.some((m) => m.key?.toString() === order.orderId));
    const source = original.find((m) => m.key?.toString() === order.orderId)!;

    expect(message!.key?.toString()).toBe(order.orderId);
    expect(message!.value?.equals(source.value!)).toBe(true);
    const headers = headersToStrings(message!.headers);
    expect(headers).toMatchObject({
      [HEADERS.eventId]: order.eventId,
      [HEADERS.originalTopic]: topics.orderCreated.name,
      [HEADERS.originalPartition]: String(source.partition),
      [HEADERS.originalOffset]: source.offset,
      [HEADERS.originalTimestamp]: source.timestamp,
      [HEADERS.consumerGroup]: group.groupId,
      [HEADERS.attempt]: '3',
      [HEADERS.errorClass]: 'TransientError',
      [HEADERS.errorMessage]: 'still broken (call 3)',
    });
    expect(headers[HEADERS.errorStack]).toContain('TransientError: still broken');
    expect(headers[HEADERS.instance]).toBeTruthy();
    expect(Number(headers[HEADERS.firstFailureAt])).toBeLessThan(Number(headers[HEADERS.lastFailureAt]));
  });

  it('a permanent error goes to the DLQ at once, without retries', async () => {
    const group = await testGroup({ retry: { attempts: 4, baseDelayMs: 200 } });
    const order = sampleOrder();
    let calls = 0;
    const runtime = started(testRuntime(group)).on(topics.orderCreated, async (event) => {
      if (event.eventId !== order.eventId) return;
      calls++;
      throw new PermanentError('unknown SKU');
    });
    await runtime.start();
    await publishOrders([order]);
    const dlq = await readTopic(dlqTopicName(topics.orderCreated, group.groupId), (seen) =>
      seen.some((m) => m.key?.toString() === order.orderId),
    );
    expect(calls).toBe(1);
    expect(headersToStrings(dlq.find((m) => m.key?.toString() === order.orderId)!.headers)).toMatchObject({ [HEADERS.attempt]: '1', [HEADERS.errorClass]: 'PermanentError' });
  });
});

describe('consumer runtime: malformed failure headers', () => {
  it('a source-topic message with a bogus retry-attempt or original-* header goes to retry.1 as a first attempt; the group keeps consuming', async () => {
    const group = await testGroup({ retry: { attempts: 3, baseDelayMs: 200, maxDelayMs: 1000, jitterRatio: 0 } });
    const attempts = new Map<string, number[]>();
    const runtime = started(testRuntime(group)).on(topics.orderCreated, async (event) => {
      const seen = attempts.get(event.eventId) ?? [];
      attempts.set(event.eventId, [...seen, event.attempt]);
      if (seen.length === 0) throw new TransientError('fails once');
    });
    await runtime.start();
    const bogus = ['abc', '-3', '2.5'];
    const orders = await Promise.all(
      bogus.map(async (attempt) =>
        (await publishOrders([sampleOrder()], { [HEADERS.attempt]: attempt, [HEADERS.originalTopic]: 'somewhere.else', [HEADERS.errorClass]: 'OldError' }))[0]!,
      ),
    );
    const later = (await publishOrders([sampleOrder()]))[0]!;

    await eventually(async () => (orders.every((o) => attempts.get(o.eventId)?.length === 2) ? true : undefined), 'each retried once');
    for (const o of orders) expect(attempts.get(o.eventId)).toEqual([1, 2]);
    await eventually(async () => (attempts.has(later.eventId) ? true : undefined), 'a later message handled');
    const tier1 = await readTopic(retryTopicName(topics.orderCreated, group.groupId, 1), (messages) => messages.length >= orders.length);
    for (const o of orders) {
      const headers = headersToStrings(tier1.find((m) => m.key?.toString() === o.orderId)!.headers);
      expect(headers).toMatchObject({ [HEADERS.attempt]: '1', [HEADERS.originalTopic]: topics.orderCreated.name, [HEADERS.errorClass]: 'TransientError' });
    }
  });
});

describe('consumer runtime: poison pills', () => {
  it('bytes that are not Avro, written by kcat, land in every group\'s DLQ at once and the good messages around them are processed', async () => {
    const groups = [await testGroup(), await testGroup()];
    const [before, after] = [sampleOrder(), sampleOrder()];
    const poisonKey = uniqueId('poison');
    const seen = new Map<string, string[]>();
    for (const group of groups) {
      seen.set(group.groupId, []);
      const runtime = started(testRuntime(group)).on(topics.orderCreated, async (event) => {
        if (event.eventId === before.eventId || event.eventId === after.eventId) seen.get(group.groupId)!.push(event.eventId);
      });
      await runtime.start();
    }
    await publishOrders([before]);
    const kcat = spawnSync('kcat', ['-P', '-b', testConfig().kafkaBrokers.join(','), '-t', topics.orderCreated.name, '-k', poisonKey], {
      input: '{"orderId":"not avro at all"}',
      encoding: 'utf8',
    });
    expect(kcat.status, kcat.stderr).toBe(0);
    await publishOrders([after]);

    for (const group of groups) {
      const dlq = await readTopic(dlqTopicName(topics.orderCreated, group.groupId), (messages) =>
        messages.some((m) => m.key?.toString() === poisonKey),
      );
      const poison = dlq.find((m) => m.key?.toString() === poisonKey)!;
      expect(poison.value?.toString()).toBe('{"orderId":"not avro at all"}');
      expect(headersToStrings(poison.headers)).toMatchObject({
        [HEADERS.errorClass]: 'PoisonPillError',
        [HEADERS.attempt]: '1',
        [HEADERS.consumerGroup]: group.groupId,
      });
      await eventually(async () => (seen.get(group.groupId)!.length === 2 ? true : undefined), 'the good messages');
    }
  });
});

describe('consumer runtime: ordered retries', () => {
  it('messages of a key in retry reach the handler in their original order; other keys are not delayed', async () => {
    const group = await testGroup({ orderedRetries: true, retry: { attempts: 4, baseDelayMs: 300, maxDelayMs: 3000, jitterRatio: 0 } });
    const orderId = uniqueId('ord');
    const keyed = [1, 2, 3].map(() => sampleOrder({ orderId }));
    const other = sampleOrder();
    const ours = new Set([...keyed, other].map((o) => o.eventId));
    const handled: Array<{ eventId: string; at: number }> = [];
    let firstFailures = 0;
    const runtime = started(testRuntime(group, pool)).on(topics.orderCreated, async (event) => {
      if (!ours.has(event.eventId)) return;
      if (event.eventId === keyed[0]!.eventId && firstFailures < 2) {
        firstFailures++;
        throw new TransientError('first message of the key fails twice');
      }
      handled.push({ eventId: event.eventId, at: Date.now() });
    });
    await runtime.start();
    await publishOrders([keyed[0]!, keyed[1]!, other, keyed[2]!]);
    await eventually(async () => (handled.length === 4 ? true : undefined), 'all four messages', 30_000);

    const keyOrder = handled.filter((h) => h.eventId !== other.eventId).map((h) => h.eventId);
    expect(keyOrder).toEqual(keyed.map((o) => o.eventId));
    const otherAt = handled.find((h) => h.eventId === other.eventId)!.at;
    const firstKeyedAt = handled.find((h) => h.eventId === keyed[0]!.eventId)!.at;
    // The other key went through on the first delivery, long before the retried key's backoff ended.
    expect(otherAt).toBeLessThan(firstKeyedAt - 500);
    const queue = await pool.query('SELECT count(*)::int AS n FROM retry_key_queue WHERE consumer_group = $1', [group.groupId]);
    expect(queue.rows[0].n).toBe(0);
  });
});

describe('processed-event records', () => {
  it('are pruned once older than the retention, per group', async () => {
    const group = uniqueId('prune-test');
    const other = uniqueId('prune-other');
    await pool.query(
      `INSERT INTO processed_events (consumer_group, event_id, processed_at) VALUES
         ($1, 'old', now() - interval '41 days'), ($1, 'recent', now() - interval '1 day'), ($2, 'old', now() - interval '41 days')`,
      [group, other],
    );
    expect(await pruneProcessedEvents(pool, group)).toBe(1);
    const left = await pool.query<{ consumer_group: string; event_id: string }>(
      'SELECT consumer_group, event_id FROM processed_events WHERE consumer_group = ANY($1) ORDER BY 1, 2',
      [[group, other]],
    );
    expect(left.rows).toEqual([
      { consumer_group: group, event_id: 'recent' },
      { consumer_group: other, event_id: 'old' },
    ].sort((a, b) => a.consumer_group.localeCompare(b.consumer_group)));
  });
});
