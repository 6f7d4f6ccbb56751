import { setTimeout as sleep } from 'node:timers/promises';
import type { PartitionOffset } from '../kafka/port.js';
import type { Logger } from '../logger.js';

export type { PartitionOffset } from '../kafka/port.js';

export interface CommitPipelineOptions {
  /** Commits these offsets for the group (the batch source's commit). */
  commit(offsets: PartitionOffset[]): Promise<void>;
  /** Makes the consumer read the partition again from `offset` (the batch source's seek). */
  seek(offset: PartitionOffset): void;
  /** Handed-over events not yet settled; past it, admit() waits. */
  maxUncommittedEvents: number;
  logger: Logger;
}

interface Entry {
  readonly lastOffset: string;
  readonly firstOffset: string;
  readonly events: number;
  settled: boolean;
}

interface PartitionLane {
  readonly topic: string;
  readonly partition: number;
  /** Changes on every rebalance and every seek back: settlements of older entries are ignored. */
  epoch: number;
  entries: Entry[];
}

/**
 * Lets a consumer fetch the next batches while earlier ones are still being handled (a bulk write
 * in flight), without committing an offset before its data is durable.
 *
 * kafkajs fetches again only once every eachBatch call of a fetch has returned, and commits the
 * offsets it was told are resolved. So the runtime resolves a batch at once (the fetch position moves
 * on) but commits nothing itself: each batch's work is tracked here, and a partition's offset is
 * committed only up to the last batch whose work, and that of every batch before it, has settled.
 * A batch whose work fails sends its partition back to the first offset not committed; a rebalance
 * drops every pending commit (kafkajs starts the new assignment from the committed offsets). Either
 * way the events come again: batch handlers that use this are idempotent.
 */
export class CommitPipeline {
  private readonly lanes = new Map<string, PartitionLane>();
  private uncommittedEvents = 0;
  private readonly pending = new Map<string, PartitionOffset>();
  private committing: Promise<void> | undefined;
  private generation = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly options: CommitPipelineOptions) {}

  /** Waits until the events in flight are below the bound (backpressure on fetching). */
  async admit(): Promise<void> {
    while (this.uncommittedEvents >= this.options.maxUncommittedEvents) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Tracks one batch of a partition, handed over in offset order; `work` settles when it is done. */
  track(topic: string, partition: number, firstOffset: string, lastOffset: string, events: number, work: Promise<void>): void {
    const lane = this.lane(topic, partition);
    const entry: Entry = { firstOffset, lastOffset, events, settled: false };
    const epoch = lane.epoch;
    const generation = this.generation;
    lane.entries.push(entry);
    this.uncommittedEvents += events;
    work.then(
      () => this.settle(lane, entry, epoch, generation, undefined),
      (error: unknown) => this.settle(lane, entry, epoch, generation, error ?? new Error('batch failed')),
    );
  }

  /** The group rebalanced: kafkajs reads every partition again from its committed offset. */
  rebalanced(): void {
    this.generation++;
    this.pending.clear();
    for (const lane of this.lanes.values()) {
      lane.epoch++;
      lane.entries = [];
    }
  }

  /** Resolves once every tracked batch has settled and its commit has landed (or `timeoutMs` passed). */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.uncommittedEvents > 0 || this.pending.size > 0 || this.committing) {
      if (Date.now() >= deadline) return false;
      await sleep(10);
    }
    return true;
  }

  private lane(topic: string, partition: number): PartitionLane {
    const key = `${topic}/${partition}`;
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { topic, partition, epoch: 0, entries: [] }));
    return lane;
  }

  private settle(lane: PartitionLane, entry: Entry, epoch: number, generation: number, error: unknown): void {
    this.uncommittedEvents -= entry.events;
    while (this.waiters.length > 0 && this.uncommittedEvents < this.options.maxUncommittedEvents) this.waiters.shift()!();
    if (epoch !== lane.epoch || generation !== this.generation) return;
    if (error !== undefined) {
      // This batch's events and every later one of the partition come again, from the first
      // offset not committed. Later settlements in the lane belong to the old epoch: ignored.
      const from = lane.entries[0]!.firstOffset;
      lane.epoch++;
      lane.entries = [];
      this.options.logger.warn(
        { err: error, topic: lane.topic, partition: lane.partition, offset: from },
        'batch failed: the partition is read again from its first uncommitted offset',
      );
      try {
        this.options.seek({ topic: lane.topic, partition: lane.partition, offset: from });
      } catch (seekError) {
        // The consumer is stopping or no longer owns the partition: the next owner starts from the commit.
        this.options.logger.debug({ err: seekError, topic: lane.topic, partition: lane.partition }, 'seek back skipped');
      }
      return;
    }
    entry.settled = true;
    let done: Entry | undefined;
    while (lane.entries[0]?.settled) done = lane.entries.shift();
    if (!done) return;
    this.pending.set(`${lane.topic}/${lane.partition}`, {
      topic: lane.topic,
      partition: lane.partition,
      offset: (BigInt(done.lastOffset) + 1n).toString(),
    });
    this.flushCommits();
  }

  /** One commit request at a time, carrying every partition's latest settled offset. */
  private flushCommits(): void {
    if (this.committing || this.pending.size === 0) return;
    const offsets = [...this.pending.values()];
    const generation = this.generation;
    this.pending.clear();
    this.committing = this.options
      .commit(offsets)
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error, partitions: offsets.length }, 'offset commit failed; retried with the next one');
        // Put back what no newer settlement replaced, unless the group has moved on meanwhile.
        if (generation !== this.generation) return;
        for (const offset of offsets) {
          const key = `${offset.topic}/${offset.partition}`;
          if (!this.pending.has(key)) this.pending.set(key, offset);
        }
        return sleep(200);
      })
      .finally(() => {
        this.committing = undefined;
        this.flushCommits();
      });
  }
}
