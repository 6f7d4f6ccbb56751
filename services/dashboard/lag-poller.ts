import { EventEmitter } from 'node:events';
import type { Admin } from '../../shared/kafka/client.js';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { evaluatePartition, worstStatus, type LagStatus, type WindowSample } from './burrow.js';
import { History } from './history.js';
import { lagTrend, skewedPartitions, timeLag } from './trend.js';
import { roleOf, type WatchedGroup } from './watched-groups.js';

/** Polls in Burrow's window: the last 10 samples decide a partition's status. */
export const windowSize = 10;

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Source topic, and 0 for it or the retry tier this topic is. */
  source: string;
  tier: number;
  /** A retry tier's delay (0 for the source). */
  delayMs: number;
  committed: number | null;
  end: number;
  /** end − committed; null without a committed offset (as kafka-consumer-groups prints "-"). */
  lag: number | null;
  timeLagMs: number | null;
  timeLagAtLeast: boolean;
  status: LagStatus;
  skewed: boolean;
}

export interface GroupLag {
  groupId: string;
  declared: boolean;
  state: string;
  members: number;
  status: LagStatus;
  lag: number;
  /** The oldest unconsumed record's age over all partitions. */
  timeLagMs: number | null;
  /** That record is older than the kept history: its age is at least timeLagMs. */
  timeLagAtLeast: boolean;
  slopePerSecond: number | null;
  drainEtaSeconds: number | null;
  skewed: boolean;
  partitions: PartitionLag[];
}

export interface DlqDepth {
  groupId: string;
  source: string;
  dlqTopic: string;
  /** Messages in the DLQ: end − start offsets (what retention or purge removed is gone). */
  count: number;
  /** New dead letters per minute over the last 10 minutes. */
  perMinute: number | null;
}

export interface LagSnapshot {
  polledAt: string | null;
  pollMs: number;
  pollDurationMs: number | null;
  /** Admin calls made by all polls so far: viewers do not add any. */
  adminCalls: number;
  polls: number;
  error: string | null;
  groups: GroupLag[];
  dlqs: DlqDepth[];
}

export interface ChartSeries {
  groupId: string;
  /** Seconds since the epoch (uPlot's x). */
  times: number[];
  lag: number[];
  timeLagSeconds: Array<number | null>;
}

interface PartitionState {
  window: WindowSample[];
}

/**
 * One poller for every viewer: every `pollMs` it reads, per group, the committed offsets and, per
 * topic, the end offsets from the admin API, and computes lag cluster-side (end − committed), as
 * kafka-consumer-groups does. A consumer's own lag metric freezes while it pauses a partition; this
 * does not. Viewers read the last snapshot and the kept history; they never reach the broker.
 */
export class LagPoller extends EventEmitter<{ snapshot: [LagSnapshot] }> {
  private readonly endHistory = new Map<string, History>();
  private readonly partitionState = new Map<string, PartitionState>();
  private readonly groupHistory = new Map<string, History>();
  private readonly dlqHistory = new Map<string, History>();
  private current: LagSnapshot;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private adminCalls = 0;
  private polls = 0;

  constructor(
    private readonly admin: Admin,
    private readonly groups: readonly WatchedGroup[],
    private readonly options: { pollMs: number; logger: Logger; now?: () => number },
  ) {
    super();
    this.current = { polledAt: null, pollMs: options.pollMs, pollDurationMs: null, adminCalls: 0, polls: 0, error: null, groups: [], dlqs: [] };
  }

  start(): void {
    const tick = () => {
      this.running = this.poll().finally(() => {
        this.running = undefined;
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.options.pollMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  snapshot(): LagSnapshot {
    return this.current;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private call<T>(work: Promise<T>): Promise<T> {
    this.adminCalls++;
    return work;
  }

  /** One round: every group's committed offsets, every topic's end offsets, then the evaluation. */
  async poll(): Promise<void> {
    const started = this.now();
    try {
      const groupIds = this.groups.map((group) => group.groupId);
      const [described, committed] = await Promise.all([
        this.call(this.admin.describeGroups(groupIds)),
        Promise.all(this.groups.map((group) => this.call(this.admin.fetchOffsets({ groupId: group.groupId })))),
      ]);
      const topics = new Set<string>();
      for (const group of committed) for (const { topic, partitions } of group) if (partitions.some((p) => Number(p.offset) >= 0)) topics.add(topic);
      for (const group of this.groups) for (const dlq of group.dlqs.values()) topics.add(dlq);
      const ends = new Map<string, Map<number, { high: number; low: number }>>();
      await Promise.all(
        [...topics].map(async (topic) => {
          try {
            const offsets = await this.call(this.admin.fetchTopicOffsets(topic));
            ends.set(topic, new Map(offsets.map((o) => [o.partition, { high: Number(o.high), low: Number(o.low) }])));
          } catch (error) {
            // A topic that is gone (or not provisioned yet) has no end offset: its rows are left out.
            this.options.logger.debug({ topic, err: errorMessage(error) }, 'no end offsets');
          }
        }),
      );
      const now = this.now();
      for (const [topic, partitions] of ends) {
        for (const [partition, { high }] of partitions) this.historyOf(this.endHistory, `${topic}:${partition}`, 1).add(now, [high]);
      }
      const states = new Map(described.groups.map((group) => [group.groupId, group]));
      const groups = this.groups.map((group, i) => this.evaluateGroup(group, committed[i]!, ends, states.get(group.groupId), now));
      const dlqs = this.dlqDepths(ends, now);
      this.polls++;
      this.current = {
        polledAt: new Date(now).toISOString(),
        pollMs: this.options.pollMs,
        pollDurationMs: this.now() - started,
        adminCalls: this.adminCalls,
        polls: this.polls,
        error: null,
        groups,
        dlqs,
      };
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error) }, 'lag poll failed');
      this.current = { ...this.current, adminCalls: this.adminCalls, error: errorMessage(error) };
    }
    this.emit('snapshot', this.current);
  }

  private historyOf(map: Map<string, History>, key: string, width: number): History {
    let history = map.get(key);
    if (!history) map.set(key, (history = new History(width)));
    return history;
  }

  private evaluateGroup(
    group: WatchedGroup,
    committed: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>,
    ends: ReadonlyMap<string, ReadonlyMap<number, { high: number }>>,
    description: { state: string; members: unknown[] } | undefined,
    now: number,
  ): GroupLag {
    const members = description?.members.length ?? 0;
    const partitions: PartitionLag[] = [];
    for (const { topic, partitions: offsets } of committed) {
      const topicEnds = ends.get(topic);
      if (!topicEnds || !offsets.some((p) => Number(p.offset) >= 0)) continue;
      const role = roleOf(group, topic);
      const lags = new Map<number, number>();
      const rows: PartitionLag[] = [];
      for (const { partition, offset } of offsets) {
        const end = topicEnds.get(partition)?.high;
        if (end === undefined) continue;
        const position = Number(offset) >= 0 ? Number(offset) : null;
        const lag = position === null ? null : Math.max(0, end - position);
        const key = `${group.groupId}|${topic}:${partition}`;
        let status: LagStatus = 'OK';
        let age: ReturnType<typeof timeLag> = null;
        if (position !== null && lag !== null) {
          const state = this.partitionState.get(key) ?? { window: [] };
          this.partitionState.set(key, state);
          state.window.push({ time: now, committed: position, lag });
          if (state.window.length > windowSize) state.window.shift();
          const endPoints = this.endHistory.get(`${topic}:${partition}`)?.points() ?? [];
          age = timeLag(endPoints.map((p) => ({ time: p.time, end: p.values[0]! })), position, now);
          status = evaluatePartition(state.window, {
            groupActive: members > 0,
            timeLagMs: age && !age.atLeast ? age.ms : null,
            expectedDelayMs: role.delayMs,
            windowSize,
          });
          lags.set(partition, lag);
        }
        rows.push({
          topic,
          partition,
          source: role.source,
          tier: role.tier,
          delayMs: role.delayMs,
          committed: position,
          end,
          lag,
          timeLagMs: age?.ms ?? null,
          timeLagAtLeast: age?.atLeast ?? false,
          status,
          skewed: false,
        });
      }
      const skewed = skewedPartitions(lags);
      for (const row of rows) row.skewed = skewed.has(row.partition);
      partitions.push(...rows);
    }
    partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    const lag = partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0);
    const lagging = partitions.filter((p) => p.lag !== null && p.lag > 0 && p.timeLagMs !== null);
    const oldest = lagging.reduce<PartitionLag | undefined>((worst, p) => (worst === undefined || p.timeLagMs! > worst.timeLagMs! ? p : worst), undefined);
    const timeLagMs = oldest ? oldest.timeLagMs : partitions.length > 0 ? 0 : null;
    const history = this.historyOf(this.groupHistory, group.groupId, 2);
    history.add(now, [lag, timeLagMs === null ? Number.NaN : timeLagMs / 1000]);
    const trend = lagTrend(
      history.points(now - 60_000).map((p) => ({ time: p.time, value: p.values[0]! })),
      now,
    );
    return {
      groupId: group.groupId,
      declared: group.declared,
      state: description?.state ?? 'Unknown',
      members,
      status: worstStatus(partitions.map((p) => p.status)),
      lag,
      timeLagMs,
      timeLagAtLeast: oldest?.timeLagAtLeast ?? false,
      slopePerSecond: trend.slopePerSecond,
      drainEtaSeconds: trend.drainEtaSeconds,
      skewed: partitions.some((p) => p.skewed),
      partitions,
    };
  }

  private dlqDepths(ends: ReadonlyMap<string, ReadonlyMap<number, { high: number; low: number }>>, now: number): DlqDepth[] {
    const depths: DlqDepth[] = [];
    for (const group of this.groups) {
      for (const [source, dlqTopic] of group.dlqs) {
        const partitions = ends.get(dlqTopic);
        if (!partitions) continue;
        let count = 0;
        let appended = 0;
        for (const { high, low } of partitions.values()) {
          count += high - low;
          appended += high;
        }
        const history = this.historyOf(this.dlqHistory, dlqTopic, 1);
        history.add(now, [appended]);
        const window = history.points(now - 600_000);
        const first = window[0];
        const spanMs = first ? now - first.time : 0;
        const perMinute = first && spanMs > 0 ? ((appended - first.values[0]!) / spanMs) * 60_000 : null;
        depths.push({ groupId: group.groupId, source, dlqTopic, count, perMinute });
      }
    }
    return depths;
  }

  /** Each group's total lag and oldest record's age over the kept history (24 h, downsampled). */
  chart(groupId: string, sinceMs = -Infinity): ChartSeries | undefined {
    const history = this.groupHistory.get(groupId);
    if (!history) return undefined;
    const points = history.points(sinceMs);
    return {
      groupId,
      times: points.map((p) => p.time / 1000),
      lag: points.map((p) => p.values[0]!),
      timeLagSeconds: points.map((p) => (Number.isNaN(p.values[1]!) ? null : p.values[1]!)),
    };
  }
}
