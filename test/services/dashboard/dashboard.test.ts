/**
 * The dashboard as a real process against the real stack: its lag equals Kafka's own
 * kafka-consumer-groups (ConsumerGroupCommand) at rest, also while a retry tier's partition is paused;
 * 50 viewers cost the broker what one does; the drain ETA holds on a synthetic drain; and in headless
 * Chromium the page shows the groups and a chart, a number changes live, and a dead letter is
 * replayed with the admin token and refused without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { topics } from '../../../shared/contracts/topics.js';
import { createPool, type Pool } from '../../../shared/db.js';
import { PermanentError, TransientError } from '../../../shared/errors.js';
import { kafkaClient } from '../../../shared/kafka/client.js';
import { randomUUID } from 'node:crypto';
import { schemas } from '../../../shared/contracts/schemas.js';
import { provisionTopics } from '../../../shared/kafka/provision.js';
import { declareTopic, failureTopics, retryTopicName, type ConsumerGroupDeclaration, type TopicDeclaration } from '../../../shared/kafka/topology.js';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import { publishEvents } from '../../support/publish.js';
import { layout } from '../../../stack/layout.js';
import type { GroupLag, LagSnapshot } from '../../../services/dashboard/lag-poller.js';
import { testAdminToken } from '../../support/api-client.js';
import { publishOrders, sampleOrder } from '../../support/orders.js';
import { testGroup } from '../../support/runtime.js';
import { ServiceFleet, type RunningService } from '../../support/services.js';
import { eventually, provisionTestTopic, testConfig, testKafka, testLogger, testSerde } from '../../support/stack.js';

const fleet = new ServiceFleet();
const runtimes: ConsumerRuntime[] = [];
let dashboard: RunningService;
let pool: Pool;
/**
 * A (on order.created, so its DLQ is one the DLQ library can name): fails everything, a retry tier
 * waiting 2 minutes, paused. B drains slowly, C has no member: both on a topic of the test's own, so
 * the declared groups on the shared test stack get no backlog from them.
 */
let paused: ConsumerGroupDeclaration;
let drain: ConsumerGroupDeclaration;
let idle: ConsumerGroupDeclaration;
let ownTopic: TopicDeclaration<OrderCreated>;

/** A group on the test's own topic, its offsets committed at 0 so the dashboard sees its lag before it has a member. */
async function ownGroup(): Promise<ConsumerGroupDeclaration> {
  const declared: ConsumerGroupDeclaration = { groupId: `test-dash-${randomUUID().slice(0, 8)}`, topics: [ownTopic] };
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await provisionTopics(admin, 1, testLogger, failureTopics(declared));
    await admin.setOffsets({ groupId: declared.groupId, topic: ownTopic.name, partitions: Array.from({ length: ownTopic.partitions }, (_, partition) => ({ partition, offset: '0' })) });
  } finally {
    await admin.disconnect();
  }
  return declared;
}

const produce = (count: number) => publishEvents(ownTopic, Array.from({ length: count }, () => sampleOrder()));

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function lag(): Promise<LagSnapshot> {
  const response = await fetch(`${dashboard.url}/api/lag`);
  return (await response.json()) as LagSnapshot;
}

async function group(groupId: string, after = 0): Promise<GroupLag> {
  return eventually(async () => {
    const snapshot = await lag();
    if (snapshot.polledAt === null || Date.parse(snapshot.polledAt) <= after) return undefined;
    return snapshot.groups.find((candidate) => candidate.groupId === groupId);
  }, `a poll of ${groupId} after ${after}`);
}

function runtime(group: ConsumerGroupDeclaration, handler: (customerId: string) => Promise<void>): ConsumerRuntime {
  const started = new ConsumerRuntime({ client: kafkaClient(testKafka()), serde: testSerde(), logger: testLogger, group, partitionsConsumedConcurrently: 1 });
  started.on(group.topics[0] as TopicDeclaration<OrderCreated>, (event) => handler(event.value.customerId));
  runtimes.push(started);
  return started;
}

async function endOffsets(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

interface DescribedRow {
  topic: string;
  partition: number;
  current: number | null;
  end: number;
  lag: number | null;
  consumerId: string;
}

/** Kafka's own view: kafka-consumer-groups.sh --describe, its class run from the stack's jars. */
function describeWithKafka(groupId: string): { output: string; rows: DescribedRow[] } {
  const lib = layout().kafkaLib;
  if (!existsSync(lib)) throw new Error(`no Kafka jars at ${lib}: the comparison needs the local stack's jars (npm run stack:fetch)`);
  const run = spawnSync(
    'java',
    ['-cp', `${lib}/*`, 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', '--bootstrap-server', testConfig().kafkaBrokers.join(','), '--describe', '--group', groupId],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (run.status !== 0) throw new Error(`ConsumerGroupCommand failed (${run.status}): ${run.stderr}`);
  const rows: DescribedRow[] = [];
  for (const line of run.stdout.split('\n')) {
    const cells = line.trim().split(/\s+/);
    if (cells[0] !== groupId || cells.length < 6) continue;
    const numberOrNull = (cell: string) => (cell === '-' ? null : Number(cell));
    rows.push({ topic: cells[1]!, partition: Number(cells[2]), current: numberOrNull(cells[3]!), end: Number(cells[4]), lag: numberOrNull(cells[5]!), consumerId: cells[6] ?? '-' });
  }
  return { output: run.stdout, rows };
}

beforeAll(async () => {
  pool = createPool(testConfig().databaseUrl, testLogger);
  paused = await testGroup({ retry: { attempts: 2, baseDelayMs: 120_000, maxDelayMs: 120_000 } });
  ownTopic = await provisionTestTopic(declareTopic(`test-dashboard-${randomUUID().slice(0, 8)}`, schemas.OrderCreated, { partitions: 6 }));
  drain = await ownGroup();
  idle = await ownGroup();
  // The retry tier starts with a committed offset, so the paused partition has one to compare.
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const tier = retryTopicName(topics.orderCreated, paused.groupId, 1);
    await admin.setOffsets({ groupId: paused.groupId, topic: tier, partitions: Array.from({ length: topics.orderCreated.partitions }, (_, partition) => ({ partition, offset: '0' })) });
  } finally {
    await admin.disconnect();
  }
  dashboard = await fleet.start('dashboard', {
    DASHBOARD_POLL_MS: '500',
    DASHBOARD_EXTRA_GROUPS: [paused, drain, idle].map((g) => g.groupId).join(','),
  });
}, 90_000);

afterAll(async () => {
  await Promise.all(runtimes.map((r) => r.stop()));
  await fleet.stopAll();
  await pool?.end();
});

describe('dashboard', () => {
  it("equals kafka-consumer-groups per group, topic and partition, at rest, with a retry partition paused", async () => {
    await runtime(paused, async (customerId) => {
      throw customerId === 'dead' ? new PermanentError('a dead letter for the dashboard') : new TransientError('not yet');
    }).start();
    await publishOrders([...Array.from({ length: 10 }, () => sampleOrder()), sampleOrder({ customerId: 'dead' }), sampleOrder({ customerId: 'dead' })]);
    // At rest: the source consumed, ten messages waiting in tier 1 (paused: due in two minutes).
    await eventually(async () => {
      const g = await group(paused.groupId);
      const tier = g.partitions.filter((p) => p.tier === 1).reduce((sum, p) => sum + (p.lag ?? 0), 0);
      const source = g.partitions.filter((p) => p.tier === 0).reduce((sum, p) => sum + (p.lag ?? 0), 0);
      return tier === 10 && source === 0 ? g : undefined;
    }, 'ten messages waiting in the paused tier');
    const kafka = describeWithKafka(paused.groupId);
    const ours = await group(paused.groupId, Date.now());
    console.log(`kafka-consumer-groups --describe --group ${paused.groupId}:\n${kafka.output}`);
    console.log('the dashboard (/api/lag):\n' + ours.partitions.map((p) => `${p.topic} ${p.partition} ${p.committed} ${p.end} ${p.lag} ${p.status}`).join('\n'));

    const committedRows = kafka.rows.filter((row) => row.current !== null);
    expect(committedRows.length).toBeGreaterThanOrEqual(2 * topics.orderCreated.partitions);
    for (const row of committedRows) {
      const mine = ours.partitions.find((p) => p.topic === row.topic && p.partition === row.partition);
      expect(mine, `${row.topic}-${row.partition}`).toBeDefined();
      expect({ committed: mine!.committed, end: mine!.end, lag: mine!.lag }, `${row.topic}-${row.partition}`).toEqual({ committed: row.current, end: row.end, lag: row.lag });
    }
    expect(ours.partitions.length).toBe(committedRows.length);
    // The paused partitions: owned by a live member, with lag, and OK (their heads wait to be due), not STALL.
    const waiting = committedRows.filter((row) => row.topic.endsWith('.retry.1') && (row.lag ?? 0) > 0);
    expect(waiting.length).toBeGreaterThan(0);
    for (const row of waiting) expect(row.consumerId).not.toBe('-');
    expect(ours.status).toBe('OK');
  }, 60_000);

  it('costs the broker the same admin calls with 50 open pages as with one', async () => {
    const perPoll = async () => {
      const first = await lag();
      await eventually(async () => ((await lag()).polls >= first.polls + 4 ? true : undefined), 'four polls');
      const last = await lag();
      return (last.adminCalls - first.adminCalls) / (last.polls - first.polls);
    };
    const alone = await perPoll();
    const pages = await Promise.all(Array.from({ length: 50 }, () => fetch(`${dashboard.url}/api/events`)));
    const readers = pages.map((page) => page.body!.getReader());
    for (let i = 0; i < 50; i++) await fetch(`${dashboard.url}/api/lag`);
    const withPages = await perPoll();
    await Promise.all(readers.map((reader) => reader.cancel()));
    expect(withPages).toBe(alone);
  }, 30_000);

  it('estimates the drain ETA within 20 % on a synthetic drain', async () => {
    const messages = 360;
    // The earlier tests' orders are in the group's lag too.
    const before = (await group(drain.groupId)).lag;
    await produce(messages);
    const full = await eventually(async () => {
      const g = await group(drain.groupId);
      // No member yet, nobody commits: STOP once no zero lag is left in the window (10 polls).
      return g.lag === before + messages && g.status === 'STOP' ? g : undefined;
    }, 'the produced lag, STOP');
    // A slow consumer: one partition at a time, 40 ms a message (about 10 s for the whole lag).
    await runtime(drain, () => sleep(40)).start();
    const reading = await eventually(async () => {
      const g = await group(drain.groupId);
      return g.lag > 0 && g.lag < full.lag * 0.7 && g.drainEtaSeconds !== null ? g : undefined;
    }, 'a third drained', 60_000);
    const readAt = Date.now();
    await eventually(async () => ((await group(drain.groupId)).lag === 0 ? true : undefined), 'the lag drained', 120_000);
    const actualSeconds = (Date.now() - readAt) / 1000;
    console.log(`drain: ETA ${reading.drainEtaSeconds!.toFixed(1)} s at lag ${reading.lag}, drained in ${actualSeconds.toFixed(1)} s`);
    expect(Math.abs(reading.drainEtaSeconds! - actualSeconds)).toBeLessThanOrEqual(0.2 * actualSeconds);
  }, 120_000);

  describe('in headless Chromium', () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    });

    afterAll(async () => {
      await browser?.close();
    });

    it('shows the groups and a chart, a number that changes live, and replays a dead letter only with the token', async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(dashboard.url, { waitUntil: 'load' });
      // Evaluated in the page (a string: this file is compiled without the DOM's types).
      const loadMs = await page.evaluate<number>(
        "(() => { const [n] = performance.getEntriesByType('navigation'); return n.loadEventEnd - n.startTime; })()",
      );
      console.log(`first load: ${loadMs.toFixed(0)} ms (navigation start to load event)`);
      expect(loadMs).toBeLessThanOrEqual(1000);

      const card = (groupId: string) => page.locator(`.card[data-group="${groupId}"]`);
      await card(idle.groupId).waitFor();
      await expect(page.locator('.card[data-group="inventory-service"]').count()).resolves.toBe(1);
      await card(paused.groupId).locator('[data-testid=lag-chart] canvas').first().waitFor();

      // Live: the idle group's lag grows by what is produced, without a reload.
      const lagText = card(idle.groupId).locator('[data-testid=lag]');
      const shown = async () => Number((await lagText.textContent())!.replace(/,/g, ''));
      const before = await shown();
      await produce(3);
      await expect.poll(shown, { timeout: 15_000, interval: 100 }).toBe(before + 3);

      // Browse the paused group's dead letters: two, decoded, the email redacted.
      await page.selectOption('#browse-group', paused.groupId);
      await page.fill('#browse-form input[name=topic]', topics.orderCreated.name);
      await page.click('#browse-button');
      await page.locator('[data-testid=dead-letter]').nth(1).waitFor();
      expect(await page.locator('[data-testid=dead-letter]').count()).toBe(2);
      expect(await page.locator('#dlq-messages').textContent()).not.toContain('test@example.com');
      const tier = retryTopicName(topics.orderCreated, paused.groupId, 1);
      const endBefore = await endOffsets(tier);

      // Refused: no token at all (the API), and a wrong one (the page).
      const refused = await fetch(`${dashboard.url}/api/dlq/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ group: paused.groupId, topic: topics.orderCreated.name, all: true, dryRun: false, confirm: paused.groupId }),
      });
      expect(refused.status).toBe(401);
      await page.locator('#dlq-messages input[type=checkbox]').first().check();
      await page.fill('#admin-token', 'not-the-admin-token-not-the-admin-token');
      await page.click('#replay-selected');
      const result = page.locator('#replay-result');
      await expect.poll(() => result.textContent(), { timeout: 10_000 }).toMatch(/^401/);

      // With the token: a dry run shown first, then the replay of the one selected message.
      await page.fill('#admin-token', testAdminToken);
      await page.click('#replay-selected');
      await page.locator('#replay-dialog[open]').waitFor();
      expect(await page.locator('#replay-plan').textContent()).toContain('1 replay');
      await page.click('#replay-ok');
      await expect.poll(() => result.textContent(), { timeout: 30_000 }).toMatch(/^replayed 1,/);
      // `DASHBOARD_SCREENSHOT=docs/dashboard.png` keeps the README's picture up to date.
      if (process.env.DASHBOARD_SCREENSHOT) {
        await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
      }

      // A bulk replay needs the group typed as confirmation, token or not.
      const unconfirmed = await fetch(`${dashboard.url}/api/dlq/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${testAdminToken}` },
        body: JSON.stringify({ group: paused.groupId, topic: topics.orderCreated.name, all: true, dryRun: false, confirm: 'yes' }),
      });
      expect(unconfirmed.status).toBe(400);

      const { rows } = await pool.query<{ actor: string }>(
        `SELECT actor FROM dlq_operations WHERE consumer_group = $1 AND operation = 'replay' AND finished_at IS NOT NULL`,
        [paused.groupId],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]!.actor).toMatch(/^dashboard@/);
      expect(await endOffsets(tier)).toBe(endBefore + 1);
      expect(errors).toEqual([]);
    }, 60_000);
  });
});
