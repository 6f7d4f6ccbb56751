import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { HEADERS } from '../../../shared/consumer/headers.js';
import { applySchema, createPool, type Pool } from '../../../shared/db.js';
import { PermanentError } from '../../../shared/errors.js';
import { ACKS_ALL, createIdempotentProducer, type Admin } from '../../../shared/kafka/client.js';
import { provisionTopics } from '../../../shared/kafka/provision.js';
import { topics, topology } from '../../../shared/contracts/topics.js';
import { dlqTopicName, failureTopics, retryTopicName, type ConsumerGroupDeclaration } from '../../../shared/kafka/topology.js';
import type { OrderCreated } from '../../../shared/contracts/schemas.js';
import {
  dlqOperationsSql,
  listDlqs,
  operationsOf,
  purge,
  replay,
  resolveTargets,
  showMessages,
  type DlqContext,
  type DlqSummary,
  type DlqTarget,
  type InspectedMessage,
  type ReplayOptions,
  type ReplayResult,
} from '../../../shared/dlq/index.js';
import { publishOrders, sampleOrder } from '../../support/orders.js';
import { testRuntime } from '../../support/runtime.js';
import { eventually, testConfig, testKafka, testLogger, testSerde } from '../../support/stack.js';

/**
 * A failure the handler reports for orders it cannot take: permanent, so straight to the DLQ. It has
 * no code of its own, so its dead letters carry PermanentError's (PERMANENT); the poison pill's carry
 * POISON_PILL: two codes for `--error-code` to tell apart.
 */
class OrderRejectedError extends PermanentError {}

// Groups of this test only; their failure topics are provisioned below, as a deployment would.
const group: ConsumerGroupDeclaration = {
  groupId: `dlq-test-${randomUUID()}`,
  topics: [topics.orderCreated],
  retry: { attempts: 2, baseDelayMs: 200, maxDelayMs: 1000, jitterRatio: 0 },
};
const bystander: ConsumerGroupDeclaration = { groupId: `dlq-bystander-${randomUUID()}`, topics: [topics.orderCreated] };
const dlqTopic = dlqTopicName(topics.orderCreated, group.groupId);
const firstTier = retryTopicName(topics.orderCreated, group.groupId, 1);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const cliArgs = ['--group-id', group.groupId, '--topic', topics.orderCreated.name];

const fixed = sampleOrder({ email: 'fixed@example.com' });
const looping = sampleOrder();
const exhausted = sampleOrder();
const poisonKey = `poison-${randomUUID()}`;
const ours = new Set([fixed.orderId, looping.orderId, exhausted.orderId]);
const broken = new Set(ours);
const handled: Array<{ orderId: string; attempt: number; from: string }> = [];
const bystanderSeen: string[] = [];
const runtimes: ConsumerRuntime[] = [];
let pool: Pool;
let admin: Admin;
let context: DlqContext;
let targets: DlqTarget[];

async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/dlq/cli.ts', ...args], {
    cwd: repoRoot,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

async function summary(): Promise<DlqSummary> {
  const [result] = await listDlqs(context, targets);
  return result!;
}

async function endOffsets(topic: string): Promise<string[]> {
  return (await admin.fetchTopicOffsets(topic)).map((p) => `${p.partition}:${p.low}-${p.high}`).sort();
}

function replayOptions(overrides: Partial<ReplayOptions>): ReplayOptions {
  return { filter: {}, limit: 0, dryRun: false, ratePerSecond: 50, maxReplays: 3, force: false, actor: 'test', ...overrides };
}

beforeAll(async () => {
  pool = createPool(testConfig().databaseUrl, testLogger);
  await applySchema(pool, dlqOperationsSql);
  admin = testKafka().admin();
  await admin.connect();
  await provisionTopics(admin, 1, testLogger, [...failureTopics(group), ...failureTopics(bystander)]);
  context = { kafka: testKafka(), admin, serde: testSerde(), logger: testLogger, pool: async () => pool };
  targets = resolveTargets(topology, { groupId: group.groupId, topic: topics.orderCreated.name });

  // Both groups start at the current end of order.created, so earlier tests' messages (poison pills
  // among them) stay out of this test's DLQ.
  const ends = (await admin.fetchTopicOffsets(topics.orderCreated.name)).map(({ partition, high }) => ({ partition, offset: high }));
  for (const { groupId } of [group, bystander]) await admin.setOffsets({ groupId, topic: topics.orderCreated.name, partitions: ends });

  const runtime = testRuntime(group).on<OrderCreated>(topics.orderCreated, async (event) => {
    if (!ours.has(event.value.orderId)) return;
    if (broken.has(event.value.orderId)) {
      throw new OrderRejectedError(`order ${event.value.orderId} rejected: unknown customer ${event.value.customerId}`);
    }
    handled.push({ orderId: event.value.orderId, attempt: event.attempt, from: event.deliveredFrom.topic });
  });
  const other = testRuntime(bystander).on<OrderCreated>(topics.orderCreated, async (event) => {
    if (ours.has(event.value.orderId)) bystanderSeen.push(event.value.orderId);
  });
  runtimes.push(runtime, other);
  await Promise.all([runtime.start(), other.start()]);

  await publishOrders([fixed, looping]);
  // Already replayed three times before this run (the header travels with the message into the DLQ).
  await publishOrders([exhausted], { [HEADERS.replays]: '3' });
  const producer = createIdempotentProducer(testKafka());
  await producer.connect();
  await producer.send({
    topic: topics.orderCreated.name,
    acks: ACKS_ALL,
    messages: [{ key: poisonKey, value: Buffer.from('{"orderId":"x","email":"ada@example.com"}') }],
  });
  await producer.disconnect();
  await eventually(async () => ((await summary()).count >= 4 ? true : undefined), 'four dead letters', 40_000);
});

afterAll(async () => {
  await Promise.all(runtimes.map((runtime) => runtime.stop()));
  await admin?.deleteGroups([group.groupId, bystander.groupId]).catch(() => undefined);
  await admin?.disconnect();
  await pool?.end();
});

describe('dlq tool against a real DLQ filled by the consumer runtime', () => {
  it('list counts the messages per group and source topic, with their error classes', async () => {
    const result = await summary();
    expect(result).toMatchObject({ group: group.groupId, sourceTopic: topics.orderCreated.name, dlqTopic, provisioned: true, count: 4 });
    expect(result.errorClasses).toEqual([
      { errorClass: 'OrderRejectedError', count: 3 },
      { errorClass: 'PoisonPillError', count: 1 },
    ]);
    expect(Date.parse(result.oldest!)).toBeLessThanOrEqual(Date.now());

    const cli = await runCli(['list', ...cliArgs]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`${group.groupId}\\s+order\\.created\\s+4\\s`));
    expect(cli.stdout).toContain('OrderRejectedError x3, PoisonPillError x1');
  });

  it('show decodes values with the source topic\'s schema, redacts emails unless revealed, and previews a poison pill', async () => {
    const { messages, matched } = await showMessages(context, targets, { filter: { key: fixed.orderId }, limit: 20, reveal: false });
    expect(matched).toBe(1);
    const [message] = messages;
    expect(message!.value).toMatchObject({ orderId: fixed.orderId, eventId: fixed.eventId, email: '[redacted]' });
    expect(message!.errorClass).toBe('OrderRejectedError');
    expect(message!.headers).toMatchObject({
      [HEADERS.consumerGroup]: group.groupId,
      [HEADERS.originalTopic]: topics.orderCreated.name,
      [HEADERS.attempt]: '1',
    });
    expect(JSON.stringify(message)).not.toContain('fixed@example.com');

    const revealed = await showMessages(context, targets, { filter: { key: fixed.orderId }, limit: 20, reveal: true });
    expect(revealed.messages[0]!.value).toMatchObject({ email: 'fixed@example.com' });

    const pills = await showMessages(context, targets, { filter: { errorClass: 'PoisonPillError' }, limit: 20, reveal: false });
    expect(pills.messages).toHaveLength(1);
    expect(pills.messages[0]!.undecodable).toMatchObject({ reason: 'not-framed', bytes: 41 });
    expect(pills.messages[0]!.undecodable!.utf8).toMatch(/^\{"orderId":"x","email":"\*+"\}$/);
    expect(pills.messages[0]!.undecodable!.hex.startsWith('7b 22')).toBe(true);

    const cli = await runCli(['show', ...cliArgs, '--key', fixed.orderId]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`"orderId": "${fixed.orderId}"`);
    expect(cli.stdout).toContain('failure-error-class: OrderRejectedError');
    expect(cli.stdout).toContain('--reveal');
    expect(cli.stdout).not.toContain('fixed@example.com');
  });

  it('dead letters carry their error code, and --error-code selects only the matching ones', async () => {
    const all = await showMessages(context, targets, { limit: 0 });
    expect(all.messages.map((m) => [m.errorClass, m.errorCode, m.headers[HEADERS.errorCode]]).sort()).toEqual([
      ['OrderRejectedError', 'PERMANENT', 'PERMANENT'],
      ['OrderRejectedError', 'PERMANENT', 'PERMANENT'],
      ['OrderRejectedError', 'PERMANENT', 'PERMANENT'],
      ['PoisonPillError', 'POISON_PILL', 'POISON_PILL'],
    ]);
    expect((await summary()).errorCodes).toEqual([
      { errorCode: 'PERMANENT', count: 3 },
      { errorCode: 'POISON_PILL', count: 1 },
    ]);

    const pills = await runCli(['show', ...cliArgs, '--error-code', 'POISON_PILL', '--json']);
    expect(pills.code, pills.stderr).toBe(0);
    expect((JSON.parse(pills.stdout) as { messages: InspectedMessage[] }).messages.map((m) => [m.key, m.errorCode])).toEqual([[poisonKey, 'POISON_PILL']]);
    const rejected = await runCli(['show', ...cliArgs, '--error-code', 'PERMANENT', '--json']);
    expect(rejected.code, rejected.stderr).toBe(0);
    const rejectedKeys = (JSON.parse(rejected.stdout) as { messages: InspectedMessage[] }).messages.map((m) => m.key);
    expect(rejectedKeys.sort()).toEqual([fixed.orderId, looping.orderId, exhausted.orderId].sort());
    expect(rejected.stdout).toContain('"failure-error-class": "OrderRejectedError"');

    const before = await endOffsets(firstTier);
    const plan = await runCli(['replay', ...cliArgs, '--error-code', 'POISON_PILL', '--dry-run', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ dryRun: true, plans: [{ items: [{ key: poisonKey, errorCode: 'POISON_PILL', decision: 'replay' }] }] });
    expect((JSON.parse(plan.stdout) as ReplayResult).plans[0]!.items).toHaveLength(1);
    const purgePlan = await runCli(['purge', ...cliArgs, '--error-code', 'UNCLASSIFIED', '--dry-run']);
    expect(purgePlan.code, purgePlan.stderr).toBe(0);
    expect(purgePlan.stdout).toContain('no matching messages');
    expect(await endOffsets(firstTier)).toEqual(before);
    expect(await operationsOf(pool, dlqTopic)).toEqual([]);
  });

  it('replay --dry-run reports the plan and changes nothing', async () => {
    const before = await endOffsets(firstTier);
    const cli = await runCli(['replay', ...cliArgs, '--key', fixed.orderId, '--dry-run', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const result = JSON.parse(cli.stdout) as ReplayResult;
    expect(result).toMatchObject({ dryRun: true, sent: 0, plans: [{ targetTopic: firstTier, items: [{ key: fixed.orderId, decision: 'replay' }] }] });
    expect(await endOffsets(firstTier)).toEqual(before);
    expect(await operationsOf(pool, dlqTopic)).toEqual([]);
  });

  it('after the cause is fixed, replay has the group process the message once, and no other group sees it', async () => {
    broken.delete(fixed.orderId);
    const cli = await runCli(['replay', ...cliArgs, '--key', fixed.orderId, '--actor', 'ops-test']);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('1 message(s) replayed');

    await eventually(async () => (handled.length > 0 ? true : undefined), 'the replayed order handled', 20_000);
    await sleep(2000); // room for a duplicate to show up
    expect(handled).toEqual([{ orderId: fixed.orderId, attempt: 1, from: firstTier }]);
    expect(bystanderSeen.filter((id) => id === fixed.orderId)).toHaveLength(1); // its first delivery only

    const [operation] = await operationsOf(pool, dlqTopic);
    expect(operation).toMatchObject({
      operation: 'replay',
      actor: 'ops-test',
      consumer_group: group.groupId,
      source_topic: topics.orderCreated.name,
      target_topic: firstTier,
      selection: { key: fixed.orderId },
      message_count: 1,
    });
    expect(operation!.finished_at).toBeInstanceOf(Date);

    // The same DLQ entry is not sent twice by accident.
    const again = await replay(context, targets, replayOptions({ filter: { key: fixed.orderId } }));
    expect(again).toMatchObject({ sent: 0, replayedBefore: 1 });
  });

  it('a replayed message that fails again returns with its replay counted, and past the maximum it is refused', async () => {
    const first = await replay(context, targets, replayOptions({ filter: { key: looping.orderId } }));
    expect(first.sent).toBe(1);
    await eventually(async () => ((await summary()).count >= 5 ? true : undefined), 'the looping order back in the DLQ', 20_000);
    const copies = await showMessages(context, targets, { filter: { key: looping.orderId }, limit: 0, reveal: false });
    expect(copies.messages.map((m) => m.replays)).toEqual([0, 1]);
    expect(copies.messages[1]!.headers[HEADERS.originalOffset]).toBe(copies.messages[0]!.headers[HEADERS.originalOffset]);
    expect(copies.messages[1]!.attempts).toBe(1);

    const before = await endOffsets(firstTier);
    const cli = await runCli(['replay', ...cliArgs, '--key', exhausted.orderId, '--json']);
    expect(cli.code, cli.stderr).toBe(3);
    expect(JSON.parse(cli.stdout)).toMatchObject({ sent: 0, refused: 1, plans: [{ items: [{ replays: 3, decision: 'max-replays' }] }] });
    expect(await endOffsets(firstTier)).toEqual(before);
    const forced = await replay(context, targets, replayOptions({ filter: { key: exhausted.orderId }, force: true, dryRun: true }));
    expect(forced.plans[0]!.items[0]!.decision).toBe('replay');
  });

  it('bad input exits with code 2 and a clear message', async () => {
    const noTopic = await runCli(['show', '--group-id', group.groupId]);
    expect(noTopic.code).toBe(2);
    expect(noTopic.stderr).toContain('--group-id needs --topic');
    const badRange = await runCli(['show', ...cliArgs, '--offsets', '9-3']);
    expect(badRange.code).toBe(2);
    expect(badRange.stderr).toContain('--offsets');
  });

  it('purge deletes only a prefix of each partition, only when confirmed, and is recorded', async () => {
    const copies = await showMessages(context, targets, { filter: { key: looping.orderId }, limit: 0, reveal: false });
    const copy = copies.messages[1]!;
    await expect(
      purge(context, targets, { filter: { key: looping.orderId, fromOffset: BigInt(copy.offset) }, replayedOnly: false, limit: 0, dryRun: true, confirmed: false, actor: 'test' }),
    ).rejects.toThrow(/not selected but comes before selected/);

    const options = { filter: {}, replayedOnly: false, limit: 0, actor: 'ops-test' };
    const count = (await summary()).count;
    expect(await purge(context, targets, { ...options, dryRun: true, confirmed: false })).toMatchObject({ status: 'dry-run', count });
    expect(await purge(context, targets, { ...options, dryRun: false, confirmed: false })).toMatchObject({ status: 'needs-confirmation', count });
    expect((await summary()).count).toBe(count);

    const done = await purge(context, targets, { ...options, dryRun: false, confirmed: true });
    expect(done).toMatchObject({ status: 'purged', count });
    expect((await summary()).count).toBe(0);
    for (const partition of await admin.fetchTopicOffsets(dlqTopic)) expect(partition.low).toBe(partition.high);
    const [operation] = await operationsOf(pool, dlqTopic);
    expect(operation).toMatchObject({ operation: 'purge', actor: 'ops-test', message_count: count, target_topic: null });
  });
});
