/** Trend, drain ETA, skew and time lag: what the lag numbers say about where they are going. */

export interface TimedValue {
  time: number;
  value: number;
}

/** Least-squares slope, per second; null with fewer than two points or no time between them. */
export function slopePerSecond(points: readonly TimedValue[]): number | null {
  if (points.length < 2) return null;
  const t0 = points[0]!.time;
  let sumT = 0;
  let sumV = 0;
  for (const point of points) {
    sumT += (point.time - t0) / 1000;
    sumV += point.value;
  }
  const meanT = sumT / points.length;
  const meanV = sumV / points.length;
  let numerator = 0;
  let denominator = 0;
  for (const point of points) {
    const t = (point.time - t0) / 1000 - meanT;
    numerator += t * (point.value - meanV);
    denominator += t * t;
  }
  return denominator === 0 ? null : numerator / denominator;
}

/** The trend window of the issue: the slope over the last 60 s. */
export const trendWindowMs = 60_000;

export interface LagTrend {
  /** Lag change per second over the last 60 s (negative: draining). */
  slopePerSecond: number | null;
  /** Seconds until the lag reaches zero at the current drain rate; 0 at no lag; null when not draining. */
  drainEtaSeconds: number | null;
}

/**
 * The slope over the last 60 s, and the ETA from the slope since the window's last peak: a drain
 * that started 10 s ago after 50 s of growth has the drain's rate, not the average of both.
 */
export function lagTrend(points: readonly TimedValue[], now: number): LagTrend {
  const recent = points.filter((point) => point.time >= now - trendWindowMs);
  const slope = slopePerSecond(recent);
  const current = recent.at(-1)?.value ?? 0;
  if (current === 0) return { slopePerSecond: slope, drainEtaSeconds: 0 };
  let peak = 0;
  for (let i = 1; i < recent.length; i++) if (recent[i]!.value >= recent[peak]!.value) peak = i;
  const drain = slopePerSecond(recent.slice(peak));
  const etaSlope = drain !== null && recent.length - peak >= 3 ? drain : slope;
  return { slopePerSecond: slope, drainEtaSeconds: etaSlope !== null && etaSlope < 0 ? current / -etaSlope : null };
}

/** The skew rule: a partition whose lag is over 3× the average of its topic's partitions. */
export function skewedPartitions(lags: ReadonlyMap<number, number>): Set<number> {
  const skewed = new Set<number>();
  if (lags.size < 2) return skewed;
  let total = 0;
  for (const lag of lags.values()) total += lag;
  const average = total / lags.size;
  if (average <= 0) return skewed;
  for (const [partition, lag] of lags) if (lag > 3 * average) skewed.add(partition);
  return skewed;
}

export interface EndOffsetPoint {
  time: number;
  end: number;
}

export interface TimeLag {
  ms: number;
  /** The record is older than the history: the age is at least `ms`. */
  atLeast: boolean;
}

/**
 * The age of the record at the committed offset, from the history of the partition's end offset:
 * that record was appended when the end offset passed it, between two samples, interpolated linearly
 * (as kafka-lag-exporter estimates it). Exact to within one poll; no record is read.
 * @param points oldest first
 */
export function timeLag(points: readonly EndOffsetPoint[], committed: number, now: number): TimeLag | null {
  const last = points.at(-1);
  if (!last) return null;
  if (committed >= last.end) return { ms: 0, atLeast: false };
  for (let i = points.length - 1; i >= 0; i--) {
    const before = points[i]!;
    if (before.end > committed) continue;
    const after = points[i + 1]!;
    const fraction = (committed + 1 - before.end) / (after.end - before.end);
    const appended = before.time + fraction * (after.time - before.time);
    return { ms: Math.max(0, now - appended), atLeast: false };
  }
  return { ms: Math.max(0, now - points[0]!.time), atLeast: true };
}
