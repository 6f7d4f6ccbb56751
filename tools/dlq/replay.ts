import { setTimeout as sleep } from 'node:timers/promises';
import { HEADERS } from '../../shared/consumer/headers.js';
import { ACKS_ALL, createIdempotentProducer, type IHeaders } from '../../shared/kafka/client.js';
import { retryPolicyOf, retryTopicName } from '../../shared/kafka/topology.js';
import type { DlqContext } from './context.js';
import { DlqRefusedError } from './errors.js';
import { finishOperation, position, recordReplayed, replayedPositions, startOperation } from './operation-log.js';
import { readMatching, type DlqRecord } from './reader.js';
import { renderTable } from './render.js';
import { describeFilter, type DlqTarget, type MessageFilter } from './selection.js';

export interface ReplayOptions {
  filter: MessageFilter;
  /** At most this many messages are sent per DLQ, lowest offsets first; 0 = no limit. */
  limit: number;
  dryRun: boolean;
  /** Messages per second. */
  ratePerSecond: number;
  /** A message whose `dlq-replays` header has reached this is not replayed again without `force`. */
  maxReplays: number;
  /** Replays past both loop guards (max replays, replayed before). */
  force: boolean;
  actor: string;
}

export const defaultMaxReplays = 3;
export const defaultRatePerSecond = 50;

/** What happens to one selected message. */
export type ReplayDecision = 'replay' | 'replayed-before' | 'max-replays' | 'over-limit';

export interface ReplayItem {
  partition: number;
  offset: string;
  key: string | null;
  errorClass: string | null;
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

/**
 * The message as the group's first retry tier expects it: due now, with no failed attempts so the
 * runtime gives it a fresh set of them (it reads `retry-attempt` as failed deliveries so far), one
 * more replay counted, and key, value bytes and every other header (original-*, event id) unchanged.
 */
export function replayHeaders(record: DlqRecord, now = Date.now()): IHeaders {
  const headers: IHeaders = { ...record.rawHeaders };
  headers[HEADERS.attempt] = '0';
  headers[HEADERS.dueAt] = String(now);
  headers[HEADERS.replays] = String(replaysOf(record) + 1);
  delete headers[HEADERS.parked];
  return headers;
}

function replaysOf(record: DlqRecord): number {
  const replays = Number(record.headers[HEADERS.replays] ?? 0);
  return Number.isFinite(replays) ? replays : 0;
}

function targetTopicOf(target: DlqTarget): string {
  if (retryPolicyOf(target.group).attempts < 2) {
    throw new DlqRefusedError(`${target.group.groupId} has no retry tier (attempts < 2): nowhere to replay to without reaching other groups`);
  }
  return retryTopicName(target.source, target.group.groupId, 1);
}

function decide(record: DlqRecord, replayed: ReadonlySet<string>, options: ReplayOptions): ReplayDecision {
  if (options.force) return 'replay';
  if (replaysOf(record) >= options.maxReplays) return 'max-replays';
  if (replayed.has(position(record.partition, record.offset))) return 'replayed-before';
  return 'replay';
}

export async function replay(context: DlqContext, targets: readonly DlqTarget[], options: ReplayOptions): Promise<ReplayResult> {
  const targetTopics = new Map(targets.map((target) => [target.dlqTopic, targetTopicOf(target)]));
  const present = new Set(await context.admin.listTopics());
  const missing = [...targetTopics.values()].filter((topic) => !present.has(topic));
  if (missing.length > 0) throw new DlqRefusedError(`retry topic(s) not on the broker: ${missing.join(', ')} (run npm run provision)`);

  const { selected } = await readMatching(context.kafka, context.admin, targets, options.filter, context.logger);
  const pool = await context.pool();
  const plans: Array<ReplayPlan & { records: DlqRecord[] }> = [];
  for (const target of targets) {
    const records = selected.filter((record) => record.target.dlqTopic === target.dlqTopic);
    if (records.length === 0) continue;
    const replayed = await replayedPositions(pool, target.dlqTopic);
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

async function send(context: DlqContext, plans: Array<ReplayPlan & { records: DlqRecord[] }>, options: ReplayOptions): Promise<void> {
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
        await recordReplayed(pool, plan.operationId, plan.dlqTopic, record.partition, record.offset);
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

const decisionText: Record<ReplayDecision, string> = {
  replay: 'replay',
  'replayed-before': 'skip: replayed before (--force to repeat)',
  'max-replays': 'REFUSED: max replays reached (--force to override)',
  'over-limit': 'skip: over --limit',
};

export function renderReplay(result: ReplayResult): string {
  if (result.plans.length === 0) return 'no matching messages; nothing replayed';
  const rows = result.plans.flatMap((plan) =>
    plan.items.map((item) => [
      plan.group,
      String(item.partition),
      item.offset,
      item.key ?? '(null)',
      item.errorClass ?? '-',
      String(item.replays),
      decisionText[item.decision],
    ]),
  );
  const table = renderTable(['GROUP', 'PARTITION', 'OFFSET', 'KEY', 'ERROR CLASS', 'REPLAYS', 'ACTION'], rows);
  const targets = result.plans.map((plan) => `  ${plan.dlqTopic} -> ${plan.targetTopic}`).join('\n');
  const wouldSend = result.plans.reduce((sum, plan) => sum + plan.items.filter((i) => i.decision === 'replay').length, 0);
  const summary = result.dryRun
    ? `dry run: ${wouldSend} message(s) would be replayed; nothing was sent or recorded`
    : `${result.sent} message(s) replayed` +
      (result.plans.some((p) => p.operationId) ? ` (operation ${result.plans.map((p) => p.operationId).filter(Boolean).join(', ')})` : '');
  const guards = [
    result.refused > 0 ? `${result.refused} refused: already replayed the maximum number of times and failed again (--force overrides)` : '',
    result.replayedBefore > 0 ? `${result.replayedBefore} skipped: replayed before` : '',
  ].filter(Boolean);
  return [table, '', 'into:', targets, '', summary, ...guards].join('\n');
}
