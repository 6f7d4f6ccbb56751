import type { BatchSource, GroupJoin, KafkaClient } from '../kafka/port.js';
import type { ConsumerGroupDeclaration } from '../kafka/topology.js';
import type { Logger } from '../logger.js';

export type { GroupJoin } from '../kafka/port.js';

export const oversizedGroupMessage = 'consumer group has more members than partitions: the extra members sit idle';

/**
 * Inside a group each partition goes to one member, so a topic's partition count bounds the useful
 * size of a group: members beyond it get no partition and sit idle. Called on every (re)join: each
 * member says when it got nothing, and the leader, which sees the whole group, compares the member
 * count with the partition counts the broker reports (not the declaration: that may not be
 * provisioned yet).
 */
export async function warnIfOversized(
  client: KafkaClient,
  source: BatchSource,
  group: ConsumerGroupDeclaration,
  join: GroupJoin,
  logger: Logger,
): Promise<void> {
  const sources = group.topics.map((topic) => topic.name);
  const idleOn = sources.filter((name) => (join.memberAssignment[name]?.length ?? 0) === 0);
  if (idleOn.length > 0) logger.warn({ topics: idleOn }, 'this member got no partition: it sits idle until a member leaves');
  if (!join.isLeader) return;

  const members = await source.groupMembers();
  for (const [topic, partitions] of await client.partitionCounts(sources)) {
    if (members <= partitions) continue;
    logger.warn(
      {
        topic,
        members,
        partitions,
        idle: members - partitions,
        fix: 'raise the partitions of the topic in shared/contracts/topics.ts and run `npm run provision` (keys then map to other partitions)',
      },
      oversizedGroupMessage,
    );
  }
}
