import type { Admin } from '../../shared/kafka/client.js';
import { testKafka } from './stack.js';

/**
 * Consumer-group views for assertions: who holds which partitions, and how far a group lags.
 * Assignments are decoded from the group's member metadata (Kafka's consumer protocol, version 0+:
 * int16 version, [topic string, [int32 partition]], user data), so no client internals are needed.
 */
export function decodeAssignment(buffer: Buffer): Record<string, number[]> {
  const result: Record<string, number[]> = {};
  if (buffer.length < 6) return result;
  let at = 2; // version
  const topicCount = buffer.readInt32BE(at);
  at += 4;
  for (let t = 0; t < topicCount; t++) {
    const nameLength = buffer.readInt16BE(at);
    at += 2;
    const topic = buffer.toString('utf8', at, at + nameLength);
    at += nameLength;
    const partitionCount = buffer.readInt32BE(at);
    at += 4;
    const partitions: number[] = [];
    for (let p = 0; p < partitionCount; p++, at += 4) partitions.push(buffer.readInt32BE(at));
    result[topic] = partitions;
  }
  return result;
}

export async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** clientId → partitions of `topic` it holds, for every member of a stable group. */
export async function groupAssignment(groupId: string, topic: string): Promise<Map<string, number[]>> {
  return withAdmin(async (admin) => {
    const { groups } = await admin.describeGroups([groupId]);
    const members = groups[0]?.members ?? [];
    return new Map(members.map((member) => [member.clientId, decodeAssignment(member.memberAssignment)[topic] ?? []]));
  });
}

/** Messages of `topic` the group has not committed yet, over all partitions. */
export async function groupLag(groupId: string, topic: string): Promise<number> {
  return withAdmin(async (admin) => {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const committedBy = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return ends.reduce((lag, end) => {
      const at = committedBy.get(end.partition) ?? -1;
      return lag + Number(end.high) - (at < 0 ? Number(end.low) : at);
    }, 0);
  });
}

/** The sum of the partitions' high watermarks: grows by one per message published. */
export async function topicEnd(topic: string): Promise<number> {
  return withAdmin(async (admin) => (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0));
}

/**
 * Sets a group's committed offsets on `topic` to its end, so its next member reads only what is
 * published from now on and not the backlog earlier tests left. The group must have no member.
 */
export async function skipToEnd(groupId: string, topic: string): Promise<void> {
  await withAdmin(async (admin) => {
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map(({ partition, high }) => ({ partition, offset: high })) });
  });
}
