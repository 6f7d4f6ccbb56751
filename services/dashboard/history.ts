/**
 * A bounded history of samples: every sample goes to each level, and a level keeps one point per
 * step (the last sample in it) in a ring of fixed size. Memory is fixed at construction, so an hour
 * of history costs what a day does.
 */
export interface HistoryLevel {
  /** 0: every sample. */
  stepMs: number;
  capacity: number;
}

/** At a 5 s poll: 10 minutes at full rate, 6 hours by the minute, 24 hours by 5 minutes. */
export const defaultLevels: readonly HistoryLevel[] = [
  { stepMs: 0, capacity: 120 },
  { stepMs: 60_000, capacity: 360 },
  { stepMs: 300_000, capacity: 288 },
];

export interface HistoryPoint {
  time: number;
  values: number[];
}

class Ring {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  /** Index of the next write. */
  private next = 0;
  size = 0;

  constructor(
    readonly level: HistoryLevel,
    private readonly width: number,
  ) {
    this.times = new Float64Array(level.capacity);
    this.values = new Float64Array(level.capacity * width);
  }

  private index(age: number): number {
    return (this.next - 1 - age + this.level.capacity) % this.level.capacity;
  }

  add(time: number, values: readonly number[]): void {
    const { stepMs, capacity } = this.level;
    let slot: number;
    if (stepMs > 0 && this.size > 0 && Math.floor(this.times[this.index(0)]! / stepMs) === Math.floor(time / stepMs)) {
      slot = this.index(0);
    } else {
      slot = this.next;
      this.next = (this.next + 1) % capacity;
      this.size = Math.min(this.size + 1, capacity);
    }
    this.times[slot] = time;
    for (let i = 0; i < this.width; i++) this.values[slot * this.width + i] = values[i] ?? Number.NaN;
  }

  oldestTime(): number {
    return this.size === 0 ? Infinity : this.times[this.index(this.size - 1)]!;
  }

  /** Oldest first, only points older than `before`. */
  pointsBefore(before: number, since: number): HistoryPoint[] {
    const points: HistoryPoint[] = [];
    for (let age = this.size - 1; age >= 0; age--) {
      const slot = this.index(age);
      const time = this.times[slot]!;
      if (time >= before || time < since) continue;
      points.push({ time, values: Array.from(this.values.subarray(slot * this.width, (slot + 1) * this.width)) });
    }
    return points;
  }
}

export class History {
  private readonly rings: Ring[];

  constructor(
    readonly width: number,
    levels: readonly HistoryLevel[] = defaultLevels,
  ) {
    this.rings = levels.map((level) => new Ring(level, width));
  }

  add(time: number, values: readonly number[]): void {
    for (const ring of this.rings) ring.add(time, values);
  }

  /**
   * Oldest first: the coarse levels for what the finer ones no longer hold, the finest for the rest.
   * @param since only points at or after this time
   */
  points(since = -Infinity): HistoryPoint[] {
    const result: HistoryPoint[] = [];
    let before = Infinity;
    const pieces: HistoryPoint[][] = [];
    for (const ring of this.rings) {
      pieces.push(ring.pointsBefore(before, since));
      before = Math.min(before, ring.oldestTime());
    }
    for (let i = pieces.length - 1; i >= 0; i--) result.push(...pieces[i]!);
    return result;
  }
}
