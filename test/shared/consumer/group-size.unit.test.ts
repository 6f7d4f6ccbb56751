import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { oversizedGroupMessage, warnIfOversized } from '../../../shared/consumer/group-size.js';
import type { BatchSource } from '../../../shared/kafka/port.js';
import type { ConsumerGroupDeclaration } from '../../../shared/kafka/topology.js';
import { schemas } from '../../../shared/contracts/schemas.js';
import { FakeKafkaClient } from '../../support/fake-kafka-client.js';

const group: ConsumerGroupDeclaration = {
  groupId: 'g',
  topics: [{ name: 'two-partitions', partitions: 2, key: 'k', schema: schemas.OrderCreated }],
};

function capture() {
  const lines: Array<{ msg: string; members?: number; partitions?: number; idle?: number; topics?: string[] }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { lines, logger: pino({ level: 'warn' }, sink) };
}

/** A client whose broker reports two partitions, and a source whose group has `members` members. */
function fakes(members: number) {
  const client = new FakeKafkaClient();
  client.partitionCounts = async (topics) => new Map(topics.map((topic) => [topic, 2]));
  const source = { groupMembers: async () => members } as Pick<BatchSource, 'groupMembers'> as BatchSource;
  return { client, source };
}

describe('group size check (through the port)', () => {
  it('the leader stays quiet up to the partition count and warns past it, with the idle count', async () => {
    const quiet = capture();
    const { client, source } = fakes(2);
    await warnIfOversized(client, source, group, { isLeader: true, memberAssignment: { 'two-partitions': [0] } }, quiet.logger);
    expect(quiet.lines).toEqual([]);

    const loud = capture();
    const oversized = fakes(3);
    await warnIfOversized(oversized.client, oversized.source, group, { isLeader: true, memberAssignment: { 'two-partitions': [0] } }, loud.logger);
    await new Promise((resolve) => setImmediate(resolve));
    expect(loud.lines).toEqual([expect.objectContaining({ msg: oversizedGroupMessage, members: 3, partitions: 2, idle: 1 })]);
  });

  it('a member without a partition says so; only the leader asks the broker', async () => {
    const { lines, logger } = capture();
    const { client, source } = fakes(3);
    let asked = 0;
    client.partitionCounts = async () => {
      asked++;
      return new Map();
    };
    await warnIfOversized(client, source, group, { isLeader: false, memberAssignment: {} }, logger);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([expect.objectContaining({ topics: ['two-partitions'] })]);
    expect(asked).toBe(0);
  });
});
