import { setTimeout as sleep } from 'node:timers/promises';
import { ACKS_ALL, createIdempotentProducer } from '../kafka/client.js';
import { retryPolicyOf, retryTopicName } from '../kafka/topology.js';
import type { DlqContext } from './context.js';
import { DlqRefusedError } from './errors.js';
import { describeFilter, type MessageFilter } from './filter.js';
import { finishOperation, recordReplayed, replayedEntries, startOperation, type ReplayedEntries } from './operation-log.js';
import { scanMatching, type DlqRecord } from './reader.js';
import { replayHeaders, replaysOf } from './replay-headers.js';
import type { DlqTarget } from './targets.js';

export const defaultMaxReplays = 3;
export const defaultRatePerSecond = 50;

export interface ReplayOptions {
  /** Which messages; `{}` selects every message of the targets, so a caller says so explicitly. */
  filter: MessageFilter;
  /** Who asked, for the operation log. */
  actor: string;
  /**
   * At most this many messages are sent per DLQ, lowest offsets first; 0 = no limit.
   * @defaultValue 0
   */
  limit?: number;
  /**
   * Decide and report, but send and record nothing.
   * @defaultValue false
   */
  dryRun?: boolean;
  /**
   * Messages per second.
   * @defaultValue 50 (defaultRatePerSecond)
   */
  ratePerSecond?: number;
  /**
   * A message whose `dlq-replays` header has reached this is not replayed again without `force`.
   * @defaultValue 3 (defaultMaxReplays)
   */
  maxReplays?: number;
  /**
   * Replays past both loop guards (max replays, replayed before).
   * @defaultValue false
   */
  force?: boolean;
}

type ResolvedReplayOptions = Required<ReplayOptions>;

// `??` per field, not a spread of defaults: an option passed as undefined means the default too.
function withDefaults(options: ReplayOptions): ResolvedReplayOptions {
  if (options.ratePerSecond !== undefined && !(options.ratePerSecond > 0)) {
    throw new DlqRefusedError(`ratePerSecond must be a positive number, got ${options.ratePerSecond}`);
  }
  return {
    filter: options.filter,
    actor: options.actor,
    limit: options.limit ?? 0,
    dryRun: options.dryRun ?? false,
    ratePerSecond: options.ratePerSecond ?? defaultRatePerSecond,
    maxReplays: options.maxReplays ?? defaultMaxReplays,
    force: options.force ?? false,
  };
}

/** What happens to one selected message. */
export type ReplayDecision = 'replay' | 'replayed-before' | 'max-replays' | 'over-limit';

export interface ReplayItem {
  partition: number;
  offset: string;
  key: string | null;
  errorClass: string | null;
  errorCode: string | null;
  /** Replays this DLQ entry went through before it landed here again. */
  replays: number;
  decision: ReplayDecision;
}

export interface ReplayPlan {
  group: string;
  sourceTopic: string;
  dlqTopic: string;
  /** The group's own first retry tier: only this group sees the messages again. */
  targetTopic: string;
  items: ReplayItem[];
  sent: number;
  operationId: string | null;
}

export interface ReplayResult {
  dryRun: boolean;
  plans: ReplayPlan[];
  sent: number;
  /** Held back by the max-replays guard: the message keeps failing after replays. */
  refused: number;
  /** Held back because this DLQ entry was replayed before (its copy is either handled or back in the DLQ). */
  replayedBefore: number;
}

function targetTopicOf(target: DlqTarget): string {
  if (retryPolicyOf(target.group).attempts < 2) {
    throw new DlqRefusedError(`${target.group.groupId} has no retry tier (attempts < 2): nowhere to replay to without reaching other groups`);
  }
  return retryTopicName(target.source, target.group.groupId, 1);
}

function decide(record: DlqRecord, replayed: ReplayedEntries, options: ResolvedReplayOptions): ReplayDecision {
  if (options.force) return 'replay';
  if (replaysOf(record) >= options.maxReplays) return 'max-replays';
  if (replayed.has(record)) return 'replayed-before';
  return 'replay';
}

/**
 * Sends the selected dead letters back to their group's own first retry tier (only that group sees
 * them again), paced, each recorded in the operation log; messages that keep failing are held back.
 */
export async function replay(context: DlqContext, targets: readonly DlqTarget[], replayOptions: ReplayOptions): Promise<ReplayResult> {
  const options = withDefaults(replayOptions);
  const targetTopics = new Map(targets.map((target) => [target.dlqTopic, targetTopicOf(target)]));
  const present = new Set(await context.admin.listTopics());
  const missing = [...targetTopics.values()].filter((topic) => !present.has(topic));
  if (missing.length > 0) throw new DlqRefusedError(`retry topic(s) not on the broker: ${missing.join(', ')} (run npm run provision)`);

  // Only the matching records are kept (their bytes are sent on), not the whole DLQ.
  const { selected } = await scanMatching(context.kafka, context.admin, targets, options.filter, context.logger);
  const pool = await context.pool();
  const plans: Array<ReplayPlan & { records: DlqRecord[] }> = [];
  for (const target of targets) {
    const records = selected.filter((record) => record.target.dlqTopic === target.dlqTopic);
    if (records.length === 0) continue;
    const replayed = await replayedEntries(pool, target.dlqTopic);
    let toSend = 0;
    const items = records.map((record): ReplayItem => {
      let decision = decide(record, replayed, options);
      if (decision === 'replay' && options.limit > 0 && toSend >= options.limit) decision = 'over-limit';
      if (decision === 'replay') toSend++;
      return {
        partition: record.partition,
        offset: record.offset,
        key: record.key,
        errorClass: record.errorClass ?? null,
        errorCode: record.errorCode ?? null,
        replays: replaysOf(record),
        decision,
      };
    });
    plans.push({
      group: target.group.groupId,
      sourceTopic: target.source.name,
      dlqTopic: target.dlqTopic,
      targetTopic: targetTopics.get(target.dlqTopic)!,
      items,
      records,
      sent: 0,
      operationId: null,
    });
  }

  if (!options.dryRun && plans.length > 0) await send(context, plans, options);
  const count = (decision: ReplayDecision) => plans.reduce((sum, plan) => sum + plan.items.filter((i) => i.decision === decision).length, 0);
  return {
    dryRun: options.dryRun,
    plans: plans.map(({ records: _records, ...plan }) => plan),
    sent: plans.reduce((sum, plan) => sum + plan.sent, 0),
    refused: count('max-replays'),
    replayedBefore: count('replayed-before'),
  };
}

async function send(context: DlqContext, plans: Array<ReplayPlan & { records: DlqRecord[] }>, options: ResolvedReplayOptions): Promise<void> {
  const pool = await context.pool();
  const producer = createIdempotentProducer(context.kafka);
  // Connected only when something is to be sent: a run that only refuses touches no producer.
  let connected: Promise<void> | undefined;
  try {
    const intervalMs = 1000 / options.ratePerSecond;
    const started = Date.now();
    let sentInRun = 0;
    for (const plan of plans) {
      const target = plan.records[0]!.target;
      // Logged before the first send, so a run that stops part way still shows who started it.
      plan.operationId = await startOperation(pool, {
        operation: 'replay',
        actor: options.actor,
        target,
        targetTopic: plan.targetTopic,
        selection: { ...describeFilter(options.filter), limit: options.limit, force: options.force, maxReplays: options.maxReplays },
      });
      for (const [i, item] of plan.items.entries()) {
        if (item.decision !== 'replay') continue;
        const record = plan.records[i]!;
        const wait = started + sentInRun * intervalMs - Date.now();
        if (wait > 0) await sleep(wait);
        await (connected ??= producer.connect());
        await producer.send({
          topic: plan.targetTopic,
          acks: ACKS_ALL,
          messages: [{ key: record.keyBytes, value: record.value, headers: replayHeaders(record) }],
        });
        await recordReplayed(pool, plan.operationId, plan.dlqTopic, record);
        plan.sent++;
        sentInRun++;
      }
      const held = plan.items.filter((i) => i.decision === 'max-replays' || i.decision === 'replayed-before').length;
      await finishOperation(pool, plan.operationId, { messages: plan.sent, refused: held });
      context.logger.info(
        { group: plan.group, dlqTopic: plan.dlqTopic, targetTopic: plan.targetTopic, sent: plan.sent, held, operationId: plan.operationId },
        'replayed',
      );
    }
  } finally {
    if (connected) await producer.disconnect();
  }
}
