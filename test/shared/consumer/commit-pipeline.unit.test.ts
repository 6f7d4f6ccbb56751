import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CommitPipeline, type PartitionOffset } from '../../../shared/consumer/commit-pipeline.js';
import { createLogger } from '../../../shared/logger.js';

const logger = createLogger('commit-pipeline-test');
logger.level = 'silent';

/** A promise settled from outside, standing for one batch's work (a flush in flight). */
function work() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function pipeline(options: { maxUncommittedEvents?: number; failCommits?: number } = {}) {
  const commits: PartitionOffset[][] = [];
  const seeks: PartitionOffset[] = [];
  let failCommits = options.failCommits ?? 0;
  const subject = new CommitPipeline({
    commit: async (offsets) => {
      if (failCommits-- > 0) throw new Error('coordinator moved');
      commits.push(offsets);
    },
    seek: (offset) => seeks.push(offset),
    maxUncommittedEvents: options.maxUncommittedEvents ?? 1000,
    logger,
  });
  return { subject, commits, seeks };
}

const settled = () => sleep(5);

describe('CommitPipeline', () => {
  it('commits a partition only up to the last batch whose work and all earlier work has settled', async () => {
    const { subject, commits } = pipeline();
    const [first, second, third] = [work(), work(), work()];
    subject.track('t', 0, '0', '9', 10, first.promise);
    subject.track('t', 0, '10', '19', 10, second.promise);
    subject.track('t', 0, '20', '29', 10, third.promise);

    second.resolve();
    await settled();
    expect(commits).toEqual([]);

    first.resolve();
    await settled();
    expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '20' }]]);

    third.resolve();
    await settled();
    expect(commits.at(-1)).toEqual([{ topic: 't', partition: 0, offset: '30' }]);
  });

  it('keeps partitions apart: one slow partition does not hold back another', async () => {
    const { subject, commits } = pipeline();
    const [slow, fast] = [work(), work()];
    subject.track('t', 0, '0', '9', 10, slow.promise);
    subject.track('t', 1, '100', '109', 10, fast.promise);
    fast.resolve();
    await settled();
    expect(commits.flat()).toEqual([{ topic: 't', partition: 1, offset: '110' }]);
  });

  it('sends a partition back to its first uncommitted offset when a batch fails, ignoring later batches', async () => {
    const { subject, commits, seeks } = pipeline();
    const [first, second, third] = [work(), work(), work()];
    subject.track('t', 0, '0', '9', 10, first.promise);
    subject.track('t', 0, '10', '19', 10, second.promise);
    subject.track('t', 0, '20', '29', 10, third.promise);
    first.resolve();
    await settled();
    second.reject(new Error('flush abandoned'));
    await settled();
    expect(seeks).toEqual([{ topic: 't', partition: 0, offset: '10' }]);

    third.resolve();
    await settled();
    expect(commits.flat()).toEqual([{ topic: 't', partition: 0, offset: '10' }]);
    expect(await subject.drain(100)).toBe(true);
  });

  it('survives a seek the consumer refuses (it is stopping): nothing is committed past the failure', async () => {
    const commits: PartitionOffset[][] = [];
    const subject = new CommitPipeline({
      commit: async (offsets) => void commits.push(offsets),
      seek: () => {
        throw new Error('Consumer group was not initialized');
      },
      maxUncommittedEvents: 100,
      logger,
    });
    subject.track('t', 0, '0', '9', 10, Promise.reject(new Error('flush abandoned')));
    subject.track('t', 0, '10', '19', 10, Promise.resolve());
    expect(await subject.drain(100)).toBe(true);
    expect(commits).toEqual([]);
  });

  it('commits nothing of the work from before a rebalance', async () => {
    const { subject, commits } = pipeline();
    const before = work();
    subject.track('t', 0, '0', '9', 10, before.promise);
    subject.rebalanced();
    before.resolve();
    await settled();
    expect(commits).toEqual([]);
    expect(await subject.drain(100)).toBe(true);
  });

  it('makes admit() wait while too many events are in flight', async () => {
    const { subject } = pipeline({ maxUncommittedEvents: 15 });
    const [first, second] = [work(), work()];
    subject.track('t', 0, '0', '9', 10, first.promise);
    await subject.admit();
    subject.track('t', 0, '10', '19', 10, second.promise);
    let admitted = false;
    void subject.admit().then(() => (admitted = true));
    await settled();
    expect(admitted).toBe(false);
    first.resolve();
    await settled();
    expect(admitted).toBe(true);
  });

  it('retries a failed commit with the next one', async () => {
    const { subject, commits } = pipeline({ failCommits: 1 });
    subject.track('t', 0, '0', '9', 10, Promise.resolve());
    expect(await subject.drain(2000)).toBe(true);
    expect(commits.flat()).toEqual([{ topic: 't', partition: 0, offset: '10' }]);
  });

  it('drains: resolves once all work has settled and been committed, or reports the timeout', async () => {
    const { subject, commits } = pipeline();
    const pending = work();
    subject.track('t', 0, '0', '9', 10, pending.promise);
    expect(await subject.drain(50)).toBe(false);
    setTimeout(() => pending.resolve(), 20);
    expect(await subject.drain(1000)).toBe(true);
    expect(commits.flat()).toEqual([{ topic: 't', partition: 0, offset: '10' }]);
  });
});
