import { describe, expect, it } from 'vitest';
import type { Admin } from '../../../shared/kafka/client.js';
import { minInsyncReplicas, provisionTopics } from '../../../shared/kafka/provision.js';
import { createLogger } from '../../../shared/logger.js';

type CreateTopics = Parameters<Admin['createTopics']>[0];

/** Just enough of an admin client for provisioning into an empty cluster. */
function emptyCluster(created: CreateTopics[]): Admin {
  const fake: Partial<Admin> = {
    listTopics: () => Promise.resolve([]),
    createTopics: (request) => {
      created.push(request);
      return Promise.resolve(true);
    },
    fetchTopicMetadata: ({ topics } = { topics: [] }) =>
      Promise.resolve({ topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }] })) }),
  };
  return fake as Admin;
}

describe('min.insync.replicas on provisioned topics', () => {
  it.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [5, 2],
  ])('replication factor %i gives min.insync.replicas %i', (replicationFactor, expected) => {
    expect(minInsyncReplicas(replicationFactor)).toBe(expected);
  });

  it('creates every topic with min.insync.replicas=2 at replication factor 3, beside its declared config', async () => {
    const created: CreateTopics[] = [];
    await provisionTopics(emptyCluster(created), 3, createLogger('test'), [
      { name: 'a', partitions: 6, config: {} },
      { name: 'b', partitions: 6, config: { 'retention.ms': '1000' } },
    ]);
    const topics = created.flatMap((request) => request.topics);
    expect(topics.map((topic) => [topic.topic, topic.replicationFactor, topic.configEntries])).toEqual([
      ['a', 3, [{ name: 'min.insync.replicas', value: '2' }]],
      ['b', 3, [{ name: 'min.insync.replicas', value: '2' }, { name: 'retention.ms', value: '1000' }]],
    ]);
  });
});
