import { describe, expect, it } from 'vitest';
import { consumerGroups, topics, topology } from '../../../shared/contracts/topics.js';
import { DlqSelectionError } from '../../../shared/dlq/errors.js';
import { resolveTargets } from '../../../shared/dlq/targets.js';
import { dlqTopicName } from '../../../shared/kafka/topology.js';

describe('dlq targets', () => {
  it('resolves declared groups to their DLQs through the declarations', () => {
    const targets = resolveTargets(topology, { groups: [consumerGroups.analytics.groupId] });
    expect(targets.map((t) => t.dlqTopic)).toEqual([dlqTopicName(topics.orderCreated, consumerGroups.analytics.groupId)]);
    expect(resolveTargets(topology, {}).length).toBeGreaterThanOrEqual(Object.keys(consumerGroups).length);
  });

  it('resolves an ad-hoc group against the declared topics', () => {
    const [target] = resolveTargets(topology, { groupId: 'adhoc-1', topic: topics.orderCreated.name });
    expect(target?.source).toBe(topics.orderCreated);
    expect(target?.dlqTopic).toBe(dlqTopicName(topics.orderCreated, 'adhoc-1'));
  });

  it('rejects unknown groups and topics, and an ad-hoc group without its topic', () => {
    expect(() => resolveTargets(topology, { groups: ['no-such-group'] })).toThrow(DlqSelectionError);
    expect(() => resolveTargets(topology, { groups: ['no-such-group'] })).toThrow(/declared groups: .*email-service/);
    expect(() => resolveTargets(topology, { groupId: 'adhoc', topic: 'no.such.topic' })).toThrow(/unknown topic/);
    expect(() => resolveTargets(topology, { groupId: 'adhoc' })).toThrow(/needs a topic/);
  });

  it('works on the topology it is given, not a global one', () => {
    const only = { topics: { orderCreated: topics.orderCreated }, groups: { analytics: consumerGroups.analytics } };
    expect(resolveTargets(only).map((t) => t.group.groupId)).toEqual([consumerGroups.analytics.groupId]);
    expect(() => resolveTargets(only, { groups: [consumerGroups.inventory.groupId] })).toThrow(DlqSelectionError);
  });
});
