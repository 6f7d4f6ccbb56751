import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS } from '../../../shared/consumer/headers.js';
import { topics } from '../../../shared/contracts/topics.js';
import { applySchema, createPool, type Pool } from '../../../shared/db.js';
import { dlqOperationsSql, replay, resolveTargets, type DlqContext, type DlqTarget } from '../../../shared/dlq/index.js';
import { ACKS_ALL, createIdempotentProducer, type Admin } from '../../../shared/kafka/client.js';
import { provisionTopics } from '../../../shared/kafka/provision.js';
import { dlqTopicName, failureTopics, type ConsumerGroupDeclaration, type Topology } from '../../../shared/kafka/topology.js';
import { eventually, testConfig, testKafka, testLogger, testSerde } from '../../support/stack.js';

// A group of this test only: its DLQ can be deleted and created again without touching anyone's.
const group: ConsumerGroupDeclaration = { groupId: `dlq-guard-${randomUUID()}`, topics: [topics.orderCreated], retry: { attempts: 2 } };
const topology: Topology = { topics: { orderCreated: topics.orderCreated }, groups: { guard: group } };
const dlqTopic = dlqTopicName(topics.orderCreated, group.groupId);
const key = `guard-${randomUUID()}`;
let pool: Pool;
let admin: Admin;
let context: DlqContext;
let targets: DlqTarget[];

/** Resolves once the broker answers offset requests for the (new) DLQ: right after creating it, it may say NOT_LEADER. */
async function dlqReady(): Promise<void> {
  await eventually(
    async () =>
      admin.fetchTopicOffsets(dlqTopic).then(
        () => true,
        () => undefined,
      ),
    'the DLQ to answer offset requests',
  );
}

/** A dead letter as the runtime writes one: same key, so the same DLQ partition every time. */
async function deadLetter(originalOffset: number): Promise<void> {
  const producer = createIdempotentProducer(testKafka());
  await producer.connect();
  try {
    await producer.send({
      topic: dlqTopic,
      acks: ACKS_ALL,
      messages: [
        {
          key,
          value: Buffer.from('not decoded by replay'),
          headers: {
            [HEADERS.eventId]: randomUUID(),
            [HEADERS.originalTopic]: topics.orderCreated.name,
            [HEADERS.originalPartition]: '0',
            [HEADERS.originalOffset]: String(originalOffset),
            [HEADERS.consumerGroup]: group.groupId,
            [HEADERS.errorClass]: 'PermanentError',
          },
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
}

beforeAll(async () => {
  pool = createPool(testConfig().databaseUrl, testLogger);
  await applySchema(pool, dlqOperationsSql);
  admin = testKafka().admin();
  await admin.connect();
  await provisionTopics(admin, 1, testLogger, failureTopics(group));
  await dlqReady();
  context = { kafka: testKafka(), admin, serde: testSerde(), logger: testLogger, pool: async () => pool };
  targets = resolveTargets(topology, { groups: [group.groupId] });
});

afterAll(async () => {
  await admin?.deleteTopics({ topics: failureTopics(group).map((t) => t.name) }).catch(() => undefined);
  await admin?.disconnect();
  await pool?.end();
});

describe('the DLQ replay guard', () => {
  it('survives the DLQ topic being recreated: a new dead letter at a replayed offset is not taken for the old one', async () => {
    const options = { filter: {}, actor: 'test', ratePerSecond: 1000 };
    await deadLetter(100);
    expect(await replay(context, targets, options)).toMatchObject({ sent: 1, replayedBefore: 0 });
    expect(await replay(context, targets, options)).toMatchObject({ sent: 0, replayedBefore: 1 });

    // The DLQ deleted and created again (a reset, a migration): its offsets start at 0 again.
    await admin.deleteTopics({ topics: [dlqTopic] });
    await eventually(
      async () => ((await admin.listTopics()).includes(dlqTopic) ? undefined : true),
      'the DLQ to be deleted',
    );
    await eventually(
      async () =>
        provisionTopics(admin, 1, testLogger, failureTopics(group)).then(
          () => true,
          () => undefined,
        ),
      'the DLQ to be created again',
    );
    await dlqReady();
    // Right after a topic of the same name was deleted and created, the broker may still answer
    // NOT_LEADER for a moment (past the producer's bounded retries): try the write again until it lands.
    await eventually(
      async () =>
        deadLetter(200).then(
          () => true,
          () => undefined,
        ),
      'the first dead letter of the new DLQ',
    );

    const after = await replay(context, targets, options);
    expect(after.plans[0]?.items.map((item) => item.offset)).toEqual(['0']);
    expect(after).toMatchObject({ sent: 1, replayedBefore: 0 });
    // And the guard still holds for the new entry.
    expect(await replay(context, targets, options)).toMatchObject({ sent: 0, replayedBefore: 1 });
  });
});
