import { describe, expect, it } from 'vitest';
import { provisionTopics } from '../../../shared/kafka/provision.js';
import { physicalTopics } from '../../../shared/kafka/topology.js';
import { topology } from '../../../shared/contracts/topics.js';
import { testKafka, testLogger, uniqueId } from '../../support/stack.js';

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

/** kafkajs' ConfigResourceTypes.TOPIC (tests reach kafkajs only through shared/kafka). */
const TOPIC_RESOURCE = 2;

describe('min.insync.replicas', () => {
  it('is set on a topic made before provisioning set it, keeping its other overrides', async () => {
    const admin = testKafka().admin();
    const name = uniqueId('min-isr');
    await admin.connect();
    try {
      // A topic as an older provisioning left it: acks=all would need 2 in-sync replicas of 1.
      await admin.createTopics({
        topics: [{ topic: name, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'min.insync.replicas', value: '2' }, { name: 'retention.ms', value: '3600000' }] }],
      });
      await provisionTopics(admin, 1, testLogger, [{ name, partitions: 1, config: { 'retention.ms': '3600000' } }]);
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: TOPIC_RESOURCE, name }] });
      const value = (config: string) => described.resources[0]?.configEntries.find((entry) => entry.configName === config)?.configValue;
      expect(value('min.insync.replicas')).toBe('1');
      expect(value('retention.ms')).toBe('3600000');
    } finally {
      await admin.deleteTopics({ topics: [name] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
