/**
 * Burrow's consumer lag evaluation rules, applied to the offsets this service samples from the
 * cluster (github.com/linkedin/Burrow/wiki/Consumer-Lag-Evaluation-Rules). Burrow sees every commit;
 * the admin API shows only the committed offset, not when it was last committed. So:
 * - STOP (Burrow: no commits for longer than the window spans) is a partition with lag whose group
 *   has no member: nobody is there to commit;
 * - STALL (Burrow: commits, but the offset does not move) is a partition with lag whose group has
 *   members and whose offset has not moved over the whole window. A retry tier's partition waits,
 *   paused, until its head is due: while the head is younger than the tier's delay, that is OK.
 */
export type LagStatus = 'OK' | 'WARNING' | 'REWIND' | 'STALL' | 'STOP';

/** Worst last: a group's status is its worst partition's. */
export const statusRank: Record<LagStatus, number> = { OK: 0, WARNING: 1, REWIND: 2, STALL: 3, STOP: 4 };

export interface WindowSample {
  time: number;
  committed: number;
  lag: number;
}

export interface PartitionContext {
  /** The group has at least one member. */
  groupActive: boolean;
  /** Age of the record at the committed offset, when known. */
  timeLagMs: number | null;
  /** A retry tier's delay: a head younger than this is waiting to be due, not stalled. */
  expectedDelayMs: number;
  /**
   * Samples a window needs before STALL and WARNING are judged (Burrow waits for a full window too).
   * @defaultValue 10
   */
  windowSize?: number;
}

/**
 * The status of one partition from its recent samples, oldest first (the last `windowSize` polls).
 * Rules in Burrow's order: any zero lag in the window is OK; an offset that went back is REWIND;
 * then STOP, STALL, and WARNING when the lag never fell while the offset moved.
 */
export function evaluatePartition(window: readonly WindowSample[], context: PartitionContext): LagStatus {
  if (window.length === 0 || window.some((sample) => sample.lag === 0)) return 'OK';
  for (let i = 1; i < window.length; i++) if (window[i]!.committed < window[i - 1]!.committed) return 'REWIND';
  if (!context.groupActive) return 'STOP';
  if (window.length < (context.windowSize ?? 10)) return 'OK';
  const first = window[0]!;
  if (window.every((sample) => sample.committed === first.committed)) {
    const waitingToBeDue = context.timeLagMs !== null && context.timeLagMs <= context.expectedDelayMs;
    return waitingToBeDue ? 'OK' : 'STALL';
  }
  let lagNeverFell = true;
  for (let i = 1; i < window.length; i++) if (window[i]!.lag < window[i - 1]!.lag) lagNeverFell = false;
  return lagNeverFell ? 'WARNING' : 'OK';
}

export function worstStatus(statuses: Iterable<LagStatus>): LagStatus {
  let worst: LagStatus = 'OK';
  for (const status of statuses) if (statusRank[status] > statusRank[worst]) worst = status;
  return worst;
}
