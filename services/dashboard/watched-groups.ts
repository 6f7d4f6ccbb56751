import { dlqTopicName, retryPolicyOf, retryTopicName, type Topology } from '../../shared/kafka/topology.js';

/** What a topic is to the group that reads it: its source (tier 0) or a retry tier with its delay. */
export interface TopicRole {
  source: string;
  /** 0: the source topic; n: retry tier n. */
  tier: number;
  /** A retry tier's delay (the jitter only shortens it); 0 for the source. */
  delayMs: number;
}

export interface WatchedGroup {
  groupId: string;
  /** Declared in the contract (its retry tiers and DLQs are known), or an extra one. */
  declared: boolean;
  roles: ReadonlyMap<string, TopicRole>;
  /** The group's DLQ topics, by source topic. */
  dlqs: ReadonlyMap<string, string>;
}

/** The declared groups with their tiers and DLQs, then the extra group ids (topics as committed). */
export function watchedGroups(topology: Topology, extraGroups: readonly string[] = []): WatchedGroup[] {
  const declared = Object.values(topology.groups).map((group): WatchedGroup => {
    const policy = retryPolicyOf(group);
    const roles = new Map<string, TopicRole>();
    const dlqs = new Map<string, string>();
    for (const topic of group.topics) {
      roles.set(topic.name, { source: topic.name, tier: 0, delayMs: 0 });
      for (let tier = 1; tier < policy.attempts; tier++) {
        const delayMs = Math.min(policy.baseDelayMs * 2 ** (tier - 1), policy.maxDelayMs);
        roles.set(retryTopicName(topic, group.groupId, tier), { source: topic.name, tier, delayMs });
      }
      dlqs.set(topic.name, dlqTopicName(topic, group.groupId));
    }
    return { groupId: group.groupId, declared: true, roles, dlqs };
  });
  const known = new Set(declared.map((group) => group.groupId));
  const extra = [...new Set(extraGroups)]
    .filter((groupId) => !known.has(groupId))
    .map((groupId): WatchedGroup => ({ groupId, declared: false, roles: new Map(), dlqs: new Map() }));
  return [...declared, ...extra];
}

/** The role of a topic the group committed on: declared, or read from the retry naming convention. */
export function roleOf(group: WatchedGroup, topic: string): TopicRole {
  const declared = group.roles.get(topic);
  if (declared) return declared;
  const tier = new RegExp(`^(.+)\\.${group.groupId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.retry\\.(\\d+)$`).exec(topic);
  return tier ? { source: tier[1]!, tier: Number(tier[2]), delayMs: 0 } : { source: topic, tier: 0, delayMs: 0 };
}
