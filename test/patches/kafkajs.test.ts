/**
 * patches/kafkajs+2.2.4.patch against the real broker: a client that connects, talks and then idles
 * makes Node (23+) warn about no negative timeout, and its connections do not spin while idle.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { testKafka } from '../support/stack.js';

const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);

afterEach(() => {
  process.off('warning', onWarning);
});

describe('kafkajs on this Node, patched', () => {
  it('connects, fetches metadata and idles without a TimeoutNegativeWarning or a busy request queue', async () => {
    process.on('warning', onWarning);
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.listTopics();
      await admin.fetchTopicMetadata();
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Unpatched, every connection re-armed a 1 ms timer forever: 55-95 ms of CPU per idle second
      // here; patched, a few.
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const cpu = process.cpuUsage(before);
      expect(warnings.map((warning) => `${warning.name}: ${warning.message}`).filter((text) => text.startsWith('TimeoutNegativeWarning'))).toEqual([]);
      expect((cpu.user + cpu.system) / 1000, 'CPU ms in one idle second').toBeLessThan(40);
    } finally {
      await admin.disconnect();
    }
  });
});
