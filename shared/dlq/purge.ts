import type { DlqContext } from './context.js';
import { DlqRefusedError } from './errors.js';
import { describeFilter, type MessageFilter } from './filter.js';
import { finishOperation, replayedEntries, startOperation, type ReplayedEntries } from './operation-log.js';
import { readMatching, type DlqRecord } from './reader.js';
import type { DlqTarget } from './targets.js';

export interface PurgeOptions {
  /** Which messages; `{}` selects every message of the targets, so a caller says so explicitly. */
  filter: MessageFilter;
  /** Who asked, for the operation log. */
  actor: string;
  /**
   * Only messages the operation log records as replayed (handled).
   * @defaultValue false
   */
  replayedOnly?: boolean;
  /**
   * At most this many messages, lowest offsets first; 0 = no limit.
   * @defaultValue 0
   */
  limit?: number;
  /**
   * Plan and report, delete nothing.
   * @defaultValue false
   */
  dryRun?: boolean;
  /**
   * The deletion is confirmed. Without it a purge only returns its plan (status `needs-confirmation`),
   * so a caller can show what would go before anything does.
   * @defaultValue false
   */
  confirmed?: boolean;
}

export interface PartitionPurge {
  partition: number;
  /** The partition's first offset before the purge. */
  from: string;
  /** Its first offset after the purge: everything below is deleted. */
  upTo: string;
  count: number;
}

export interface PurgePlan {
  group: string;
  sourceTopic: string;
  dlqTopic: string;
  partitions: PartitionPurge[];
  operationId: string | null;
}

export interface PurgeResult {
  status: 'dry-run' | 'needs-confirmation' | 'purged' | 'nothing-selected';
  plans: PurgePlan[];
  /** Messages deleted (or, for a dry run and an unconfirmed run, that would be). */
  count: number;
}

/**
 * Kafka deletes records only from the start of a partition (deleteRecords moves its first offset up),
 * so a purge selection must be, in every partition, the partition's oldest messages with no gap.
 * Returns the offset each partition would start at, or throws naming the first message in the way.
 */
export function prefixCut(partitionRecords: readonly DlqRecord[], selected: ReadonlySet<DlqRecord>): PartitionPurge | undefined {
  const first = partitionRecords[0];
  if (!first) return undefined;
  let count = 0;
  while (count < partitionRecords.length && selected.has(partitionRecords[count]!)) count++;
  const laterSelected = partitionRecords.slice(count).find((record) => selected.has(record));
  if (laterSelected) {
    const gap = partitionRecords[count]!;
    const hint =
      count > 0
        ? `; e.g. --partition ${first.partition} --offsets -${partitionRecords[count - 1]!.offset} is a prefix`
        : `; nothing of this partition can go before offset ${gap.offset} does`;
    throw new DlqRefusedError(
      `${first.target.dlqTopic} partition ${first.partition}: offset ${gap.offset} is not selected but comes before selected ` +
        `offset ${laterSelected.offset}. Kafka deletes only a partition's oldest messages, so a purge must select a prefix${hint}`,
    );
  }
  if (count === 0) return undefined;
  return { partition: first.partition, from: first.offset, upTo: String(BigInt(partitionRecords[count - 1]!.offset) + 1n), count };
}

/** Deletes the selected dead letters for good, as long as they are a prefix of each partition; recorded in the operation log. */
export async function purge(context: DlqContext, targets: readonly DlqTarget[], purgeOptions: PurgeOptions): Promise<PurgeResult> {
  const options: Required<PurgeOptions> = {
    filter: purgeOptions.filter,
    actor: purgeOptions.actor,
    replayedOnly: purgeOptions.replayedOnly ?? false,
    limit: purgeOptions.limit ?? 0,
    dryRun: purgeOptions.dryRun ?? false,
    confirmed: purgeOptions.confirmed ?? false,
  };
  const { contents, selected: matching } = await readMatching(context.kafka, context.admin, targets, options.filter, context.logger);
  let selected = matching;
  if (options.replayedOnly) {
    const pool = await context.pool();
    const replayed = new Map<string, ReplayedEntries>();
    for (const target of targets) replayed.set(target.dlqTopic, await replayedEntries(pool, target.dlqTopic));
    selected = selected.filter((record) => replayed.get(record.target.dlqTopic)?.has(record));
  }
  if (options.limit > 0) selected = selected.slice(0, options.limit);
  const chosen = new Set(selected);

  const plans: PurgePlan[] = [];
  for (const dlq of contents) {
    const partitions = dlq.partitions
      .map((range) => prefixCut(dlq.records.filter((record) => record.partition === range.partition), chosen))
      .filter((cut): cut is PartitionPurge => cut !== undefined);
    if (partitions.length === 0) continue;
    plans.push({
      group: dlq.target.group.groupId,
      sourceTopic: dlq.target.source.name,
      dlqTopic: dlq.target.dlqTopic,
      partitions,
      operationId: null,
    });
  }
  const count = plans.reduce((sum, plan) => sum + plan.partitions.reduce((s, p) => s + p.count, 0), 0);
  if (count === 0) return { status: 'nothing-selected', plans, count };
  if (options.dryRun) return { status: 'dry-run', plans, count };
  if (!options.confirmed) return { status: 'needs-confirmation', plans, count };

  const pool = await context.pool();
  for (const plan of plans) {
    const target = targets.find((t) => t.dlqTopic === plan.dlqTopic)!;
    plan.operationId = await startOperation(pool, {
      operation: 'purge',
      actor: options.actor,
      target,
      targetTopic: null,
      selection: { ...describeFilter(options.filter), replayed: options.replayedOnly, limit: options.limit },
    });
    await context.admin.deleteTopicRecords({
      topic: plan.dlqTopic,
      partitions: plan.partitions.map((p) => ({ partition: p.partition, offset: p.upTo })),
    });
    await finishOperation(pool, plan.operationId, {
      messages: plan.partitions.reduce((s, p) => s + p.count, 0),
      purgedUpTo: Object.fromEntries(plan.partitions.map((p) => [String(p.partition), p.upTo])),
    });
    context.logger.info({ group: plan.group, dlqTopic: plan.dlqTopic, partitions: plan.partitions, operationId: plan.operationId }, 'purged');
  }
  return { status: 'purged', plans, count };
}
