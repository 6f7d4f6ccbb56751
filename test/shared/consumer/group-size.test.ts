import { kafkaClient } from '../../../shared/kafka/client.js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { oversizedGroupMessage } from '../../../shared/consumer/group-size.js';
import { provisionTopics } from '../../../shared/kafka/provision.js';
import { failureTopics, type ConsumerGroupDeclaration, type TopicDeclaration } from '../../../shared/kafka/topology.js';
import { schemas } from '../../../shared/contracts/schemas.js';
import { eventually, testKafka, testSerde, uniqueId } from '../../support/stack.js';

interface LogLine {
  msg: string;
  instance?: string;
  topic?: string;
  topics?: string[];
  members?: number;
  partitions?: number;
  idle?: number;
}

/** Log lines of every member, parsed: the warning is the behaviour under test. */
const lines: LogLine[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
    done();
  },
});

// A topic of its own with 2 partitions, so a third member is one too many.
const topic: TopicDeclaration = { name: uniqueId('group-size'), partitions: 2, key: 'order id', schema: schemas.OrderCreated };
const group: ConsumerGroupDeclaration = { groupId: uniqueId('group-size'), topics: [topic] };
const members: ConsumerRuntime[] = [];

async function startMember(name: string): Promise<ConsumerRuntime> {
  const logger = pino({ level: 'warn', base: { instance: name } }, sink);
  const runtime = new ConsumerRuntime({ client: kafkaClient(testKafka()), serde: testSerde(), logger, group, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 });
  runtime.on(topic, async () => {});
  members.push(runtime);
  await runtime.start();
  return runtime;
}

afterAll(async () => {
  await Promise.all(members.map((member) => member.stop()));
  const admin = testKafka().admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic.name, ...failureTopics(group).map((t) => t.name)] }).catch(() => undefined);
  await admin.disconnect();
});

describe('consumer group larger than the partition count', () => {
  it('stays quiet up to the partition count, then warns (leader: counts; idle member: itself)', async () => {
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await provisionTopics(admin, 1, pino({ level: 'silent' }), [{ name: topic.name, partitions: topic.partitions, config: {} }, ...failureTopics(group)]);
      const stable = async (count: number) => {
        const [description] = (await admin.describeGroups([group.groupId])).groups;
        return description?.state === 'Stable' && description.members.length === count ? true : undefined;
      };

      await startMember('m1');
      await startMember('m2');
      await eventually(() => stable(2), 'a stable group of 2', 60_000);
      // The leader's check runs right after the join: give it a moment before asserting silence.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(lines.filter((line) => line.msg === oversizedGroupMessage)).toEqual([]);

      await startMember('m3');
      await eventually(() => stable(3), 'a stable group of 3', 60_000);
      const warning = await eventually(
        async () => lines.find((line) => line.msg === oversizedGroupMessage && line.members === 3),
        'the oversized-group warning',
        20_000,
      );
      expect(warning).toMatchObject({ topic: topic.name, members: 3, partitions: 2, idle: 1 });
      const idle = await eventually(
        async () => lines.find((line) => line.msg.startsWith('this member got no partition') && line.topics?.includes(topic.name)),
        "the idle member's own warning",
        20_000,
      );
      expect(['m1', 'm2', 'm3']).toContain(idle.instance);
    } finally {
      await admin.disconnect();
    }
  });
});
