import { describe, expect, it } from 'vitest';
import { provisionTopics } from '../../../shared/kafka/provision.js';
import { physicalTopics } from '../../../shared/kafka/topology.js';
import { topology } from '../../../shared/contracts/topics.js';
import { testKafka, testLogger } from '../../support/stack.js';

describe('topic provisioning', () => {
  it('creates every declared topic with its declared partitions, and a second run changes nothing', async () => {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      // The global setup provisioned once already; this run must find everything in place.
      expect(await provisionTopics(admin, 1, testLogger, physicalTopics(topology))).toEqual([]);
      const declared = physicalTopics(topology);
      const metadata = await admin.fetchTopicMetadata({ topics: declared.map((t) => t.name) });
      for (const topic of declared) {
        expect(metadata.topics.find((t) => t.name === topic.name)?.partitions).toHaveLength(topic.partitions);
      }
      expect(declared.find((t) => t.name === 'order.created')?.partitions).toBe(6);
    } finally {
      await admin.disconnect();
    }
  });
});
