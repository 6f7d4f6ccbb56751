/**
 * `npm run bench:scale`: how a consumer group scales with its members, and how long it stalls when
 * one dies. Each member is a real process running the shared ConsumerRuntime with an I/O-bound
 * handler (BENCH_HANDLER_MS of sleep per message), all in one group, on a topic of this run with the
 * partition count of order.created.
 *
 * Scaling: runs with 1, 2, 3, 6 and 8 members, then one member with partitionsConsumedConcurrently
 * 2, 3 and 6. Each run gets BENCH_PER_INSTANCE messages per member (per concurrent partition), sent
 * once the group is stable, so every run lasts about as long; efficiency = throughput /
 * (n × single-member throughput of this run). 8 members on 6 partitions shows the ceiling.
 *
 * Rebalance: 3 members under a steady flow; one is killed (SIGKILL) or stopped (SIGTERM), and the
 * time until its partitions are consumed again is measured, with two session timeout / heartbeat
 * settings.
 *
 *   BENCH_PER_INSTANCE (default 300), BENCH_HANDLER_MS (default 20),
 *   BENCH_INSTANCES (default 1,2,3,6,8), BENCH_CONCURRENCY (default 2,3,6), BENCH_REBALANCE (default true)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { kafkaVariables, loadConfig, registryVariables } from '../shared/config.js';
import { oversizedGroupMessage } from '../shared/consumer/group-size.js';
import { ACKS_ALL, createIdempotentProducer, createKafka, type Message } from '../shared/kafka/client.js';
import { provisionTopics } from '../shared/kafka/provision.js';
import { topics } from '../shared/contracts/topics.js';
import { failureTopics, valueSubject, type ConsumerGroupDeclaration, type TopicDeclaration } from '../shared/kafka/topology.js';
import { createLogger } from '../shared/logger.js';
import { AvroSerde } from '../shared/registry/serde.js';
import { schemas, type OrderCreated } from '../shared/contracts/schemas.js';
import { localStack, up } from '../stack/local-stack.js';
import type { Handled } from './scale-worker.js';
import { printTable, writeResults } from './support.js';

const list = (value: string | undefined, fallback: number[]) => (value ? value.split(',').map(Number) : fallback);
const perInstance = Number(process.env.BENCH_PER_INSTANCE ?? 300);
const handlerMs = Number(process.env.BENCH_HANDLER_MS ?? 20);
const instanceCounts = list(process.env.BENCH_INSTANCES, [1, 2, 3, 6, 8]);
const concurrencies = list(process.env.BENCH_CONCURRENCY, [2, 3, 6]);
const withRebalance = process.env.BENCH_REBALANCE !== 'false';
/** The production topic's partition count: what bounds a real group. */
const partitions = topics.orderCreated.partitions;

const stack = localStack();
await up(stack);
const stackEnv = { ...process.env, ...stack.env };
const config = loadConfig({ ...kafkaVariables, ...registryVariables }, stackEnv);
const logger = createLogger('bench-scale');
logger.level = 'warn';
const kafka = createKafka(config, logger, 'bench-scale');
const serde = AvroSerde.connect(config.schemaRegistryUrl);
const admin = kafka.admin();
await admin.connect();
const producer = createIdempotentProducer(kafka);
await producer.connect();
const runId = randomUUID().slice(0, 8);
const createdTopics: string[] = [];
const createdSubjects: string[] = [];

interface MemberOptions {
  concurrency?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

interface Member {
  index: number;
  child: ChildProcess;
  /** Parsed JSON log lines (the worker logs warnings and errors only). */
  logs: Array<{ msg?: string }>;
  exited: Promise<void>;
}

interface Run {
  topic: TopicDeclaration<OrderCreated>;
  group: ConsumerGroupDeclaration;
  members: Member[];
  events: Array<Handled & { member: number }>;
  unique: Set<string>;
}

function spawnMember(run: Run, index: number, options: MemberOptions): Member {
  const child = fork(fileURLToPath(new URL('./scale-worker.ts', import.meta.url)), {
    execArgv: ['--import', 'tsx'],
    env: {
      ...stackEnv,
      BENCH_TOPIC: run.topic.name,
      BENCH_PARTITIONS: String(partitions),
      BENCH_GROUP: run.group.groupId,
      BENCH_HANDLER_MS: String(handlerMs),
      BENCH_CONCURRENCY: String(options.concurrency ?? 1),
      BENCH_SESSION_TIMEOUT_MS: String(options.sessionTimeoutMs ?? 30_000),
      BENCH_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs ?? 3000),
      INSTANCE_ID: `bench-member-${index}`,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const member: Member = { index, child, logs: [], exited: new Promise((resolve) => child.once('exit', () => resolve())) };
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      try {
        member.logs.push(JSON.parse(line) as { msg?: string });
      } catch {
        member.logs.push({ msg: line });
      }
    });
  }
  child.on('message', (message: Handled) => {
    run.events.push({ ...message, member: index });
    run.unique.add(`${message.partition}:${message.offset}`);
  });
  return member;
}

async function waitForStableGroup(run: Run, size: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [group] = (await admin.describeGroups([run.group.groupId])).groups;
    if (group?.state === 'Stable' && group.members.length === size) return;
    const dead = run.members.find((m) => m.child.exitCode !== null);
    if (dead) throw new Error(`member ${dead.index} exited: ${dead.logs.slice(-5).map((l) => l.msg).join(' | ')}`);
    if (Date.now() > deadline) throw new Error(`group ${run.group.groupId} did not become stable with ${size} members`);
    await sleep(250);
  }
}

async function startRun(label: string, size: number, options: MemberOptions = {}): Promise<Run> {
  const topic: TopicDeclaration<OrderCreated> = { name: `bench.scale.${runId}.${label}`, partitions, key: 'order id', schema: schemas.OrderCreated };
  const group: ConsumerGroupDeclaration = { groupId: `bench-scale-${runId}-${label}`, topics: [topic] };
  // Bench topics are declared here, never in shared/contracts/topics.ts: the topic and its group's retry
  // and DLQ topics, as provisioning would create them for a production group.
  const physical = [{ name: topic.name, partitions, config: {} }, ...failureTopics(group)];
  await provisionTopics(admin, 1, logger, physical);
  createdTopics.push(...physical.map((t) => t.name));
  createdSubjects.push(valueSubject(topic));
  const run: Run = { topic, group, members: [], events: [], unique: new Set() };
  for (let i = 0; i < size; i++) run.members.push(spawnMember(run, i, options));
  await waitForStableGroup(run, size);
  return run;
}

async function stopRun(run: Run): Promise<void> {
  for (const member of run.members) if (member.child.exitCode === null && member.child.signalCode === null) member.child.kill('SIGTERM');
  await Promise.race([Promise.all(run.members.map((m) => m.exited)), sleep(20_000)]);
  for (const member of run.members) if (member.child.exitCode === null && member.child.signalCode === null) member.child.kill('SIGKILL');
  await Promise.all(run.members.map((m) => m.exited));
}

function order(n: number): OrderCreated {
  return {
    eventId: `evt-${runId}-${n}`,
    orderId: `ord-${n}`,
    customerId: 'bench',
    email: 'bench@example.com',
    items: [{ sku: 'SKU-001', quantity: 1, unitPriceCents: 100 }],
    totalCents: 100,
    currency: 'EUR',
    createdAt: Date.now(), clientId: null,
  };
}

/** Encodes first, then sends; partitions round-robin so every partition gets the same share. */
async function produce(run: Run, count: number, from = 0): Promise<number> {
  const messages: Array<Message & { partition: number }> = await Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      key: `ord-${from + i}`,
      partition: (from + i) % partitions,
      value: await serde.encode(run.topic, order(from + i)),
    })),
  );
  const started = Date.now();
  for (let i = 0; i < messages.length; i += 500) {
    await producer.send({ topic: run.topic.name, acks: ACKS_ALL, messages: messages.slice(i, i + 500) });
  }
  return started;
}

async function handledAll(run: Run, count: number): Promise<number> {
  const deadline = Date.now() + 300_000;
  while (run.unique.size < count) {
    if (Date.now() > deadline) throw new Error(`${run.group.groupId}: ${run.unique.size}/${count} handled before the deadline`);
    await sleep(50);
  }
  return Math.max(...run.events.map((e) => e.at));
}

const warnings = (run: Run) => run.members.reduce((n, m) => n + m.logs.filter((l) => l.msg === oversizedGroupMessage).length, 0);
const idleMembers = (run: Run) => run.members.filter((m) => m.logs.some((l) => l.msg?.startsWith('this member got no partition'))).length;

interface ScaleResult {
  run: string;
  members: number;
  concurrency: number;
  partitions: number;
  messages: number;
  seconds: number;
  throughput: number;
  efficiency: number;
  perMember: string;
  oversizeWarnings: number;
  idleMembers: number;
}

async function measure(label: string, members: number, concurrency: number, single?: number): Promise<ScaleResult> {
  const run = await startRun(label, members, { concurrency });
  try {
    const count = members * concurrency * perInstance;
    const started = await produce(run, count);
    const finished = await handledAll(run, count);
    const seconds = (finished - started) / 1000;
    const throughput = count / seconds;
    const share = run.members.map((m) => run.events.filter((e) => e.member === m.index).length);
    // Warnings are logged on join; give the leader's check (an admin round trip) a moment.
    await sleep(500);
    return {
      run: label,
      members,
      concurrency,
      partitions,
      messages: count,
      seconds: Number(seconds.toFixed(2)),
      throughput: Number(throughput.toFixed(1)),
      efficiency: Number((throughput / ((single ?? throughput) * members * concurrency)).toFixed(3)),
      perMember: share.join('/'),
      oversizeWarnings: warnings(run),
      idleMembers: idleMembers(run),
    };
  } finally {
    await stopRun(run);
  }
}

interface RebalanceResult {
  case: string;
  signal: 'SIGKILL' | 'SIGTERM';
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** From the signal until every partition of the dead member was consumed again by a survivor. */
  orphanedMs: number;
  /** Longest stretch after the signal in which no member handled anything (the eager rebalance). */
  groupPauseMs: number;
  /** Messages handled twice: the dead member's handled-but-uncommitted tail (at-least-once). */
  redelivered: number;
  expected: string;
}

async function rebalance(label: string, signal: 'SIGKILL' | 'SIGTERM', sessionTimeoutMs: number, heartbeatIntervalMs: number): Promise<RebalanceResult> {
  const members = 3;
  const run = await startRun(label, members, { sessionTimeoutMs, heartbeatIntervalMs });
  // A steady flow well below what the two remaining members can handle.
  const perSecond = 60;
  let sent = 0;
  let flowing = true;
  const flow = (async () => {
    while (flowing) {
      await produce(run, perSecond / 10, sent);
      sent += perSecond / 10;
      await sleep(100);
    }
  })();
  try {
    await sleep(4000);
    const victim = run.members[0]!;
    const orphaned = new Set(run.events.filter((e) => e.member === victim.index && e.at > Date.now() - 2000).map((e) => e.partition));
    if (orphaned.size === 0) throw new Error(`${label}: the victim handled nothing before it was stopped`);
    const signalledAt = Date.now();
    victim.child.kill(signal);
    const deadline = signalledAt + sessionTimeoutMs + 60_000;
    let orphanedMs: number | undefined;
    while (orphanedMs === undefined && Date.now() < deadline) {
      const firsts = [...orphaned].map((p) => run.events.find((e) => e.partition === p && e.member !== victim.index && e.at > signalledAt)?.at);
      if (firsts.every((at) => at !== undefined)) orphanedMs = Math.max(...(firsts as number[])) - signalledAt;
      else await sleep(100);
    }
    if (orphanedMs === undefined) throw new Error(`${label}: the dead member's partitions were not consumed again in time`);
    await sleep(1000);
    const after = run.events
      .filter((e) => e.member !== victim.index && e.at > signalledAt && e.at <= signalledAt + orphanedMs)
      .map((e) => e.at)
      .sort((a, b) => a - b);
    let groupPauseMs = 0;
    let previous = signalledAt;
    for (const at of after) {
      groupPauseMs = Math.max(groupPauseMs, at - previous);
      previous = at;
    }
    const seen = new Map<string, number>();
    for (const e of run.events) seen.set(`${e.partition}:${e.offset}`, (seen.get(`${e.partition}:${e.offset}`) ?? 0) + 1);
    const redelivered = [...seen.values()].filter((n) => n > 1).length;
    const s = sessionTimeoutMs / 1000;
    const h = heartbeatIntervalMs / 1000;
    return {
      case: label,
      signal,
      sessionTimeoutMs,
      heartbeatIntervalMs,
      orphanedMs,
      groupPauseMs,
      redelivered,
      expected:
        signal === 'SIGKILL'
          ? `${s - h}–${s + h} s + rejoin (session timeout ± heartbeat)`
          : `≤ ${h} s + rejoin (leaves at once; peers learn at their next heartbeat)`,
    };
  } finally {
    flowing = false;
    await flow;
    await stopRun(run);
  }
}

const scaling: ScaleResult[] = [];
const rebalances: RebalanceResult[] = [];
try {
  console.log(`scale: ${handlerMs} ms handler, ${perInstance} messages per member, ${partitions} partitions (as ${topics.orderCreated.name})`);
  const base = await measure('n1', 1, 1);
  scaling.push(base);
  console.log(`  1 member: ${base.throughput} msg/s`);
  for (const n of instanceCounts.filter((n) => n !== 1)) {
    const result = await measure(`n${n}`, n, 1, base.throughput);
    scaling.push(result);
    console.log(`  ${n} members: ${result.throughput} msg/s, efficiency ${result.efficiency}`);
  }
  for (const c of concurrencies) {
    const result = await measure(`c${c}`, 1, c, base.throughput);
    scaling.push(result);
    console.log(`  1 member, ${c} partitions at once: ${result.throughput} msg/s, efficiency ${result.efficiency}`);
  }
  if (withRebalance) {
    for (const [label, signal, session, heartbeat] of [
      ['kill-s30', 'SIGKILL', 30_000, 3000],
      ['kill-s6', 'SIGKILL', 6000, 1000],
      ['term-s30', 'SIGTERM', 30_000, 3000],
    ] as const) {
      console.log(`rebalance ${label}…`);
      rebalances.push(await rebalance(label, signal, session, heartbeat));
    }
  }
} finally {
  await producer.disconnect();
  if (createdTopics.length > 0) await admin.deleteTopics({ topics: createdTopics }).catch(() => undefined);
  await admin.disconnect();
  const registry = config.schemaRegistryUrl.replace(/\/+$/, '');
  for (const subject of createdSubjects) {
    await fetch(`${registry}/subjects/${subject}`, { method: 'DELETE' }).catch(() => undefined);
    await fetch(`${registry}/subjects/${subject}?permanent=true`, { method: 'DELETE' }).catch(() => undefined);
  }
}

console.log('\nScaling (efficiency = throughput / (n × 1-member throughput))');
printTable(scaling.map((r) => ({ ...r })));
const upToPartitions = scaling.filter((r) => r.members * r.concurrency <= partitions && r.members * r.concurrency > 1);
const worst = Math.min(...upToPartitions.map((r) => r.efficiency));
console.log(`\nworst efficiency up to ${partitions} partitions: ${worst} (target ≥ 0.85: ${worst >= 0.85 ? 'met' : 'NOT met'})`);
if (rebalances.length > 0) {
  console.log('\nRebalance after a member stops (3 members, 60 msg/s)');
  printTable(rebalances.map((r) => ({ ...r })));
}
const file = writeResults('scale', { handlerMs, perInstance, partitions, scaling, worstEfficiencyUpToPartitions: worst, rebalances });
console.log(`\nwrote ${file}`);
process.exit(0);
