/**
 * Defect 2 of issue 11: the local schema registry must keep its schemas across a restart, as the
 * broker keeps the messages that name them. A registry of this test's own (its own STACK_DIR and
 * port, the shared stack's jars, broker and PostgreSQL server): the shared registry is never touched.
 */
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACKS_ALL, createIdempotentProducer } from '../../shared/kafka/client.js';
import { registry, registryDatabaseUrl } from '../../stack/components.js';
import { layout, stackEnv, type Layout, type StackEnv } from '../../stack/layout.js';
import { Processes } from '../../stack/processes.js';
import { readTopic, testKafka, uniqueId } from '../support/stack.js';

const v1 = { type: 'record', name: 'Parcel', namespace: 'test.durability', fields: [{ name: 'id', type: 'string' }] };
const v2 = { ...v1, fields: [...v1.fields, { name: 'weight', type: 'int', default: 0 }] };
const other = { type: 'record', name: 'Label', namespace: 'test.durability', fields: [{ name: 'text', type: 'string' }] };

function ownDatabaseUrl(shared: string): string {
  const url = new URL(shared);
  url.pathname = '/order_pipeline_registry_durability';
  return url.toString();
}

async function dropDatabase(databaseUrl: string): Promise<void> {
  const admin = new URL(databaseUrl);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** The local stack's jars: absent when the tests run on containers (there the registry is Confluent's, on Kafka). */
const jars = layout(process.env.STACK_DIR);

describe.skipIf(!existsSync(jars.apicurioLib))('the local schema registry across a restart', () => {
  let root: string;
  let ownLayout: Layout;
  let processes: Processes;
  const shared = stackEnv(process.env);
  const env: StackEnv = {
    ...shared,
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18181/apis/ccompat/v7',
    DATABASE_URL: ownDatabaseUrl(shared.DATABASE_URL),
  };
  const topic = uniqueId('registry-durability');
  const admin = testKafka().admin();

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'registry-durability-'));
    ownLayout = layout(root);
    processes = new Processes(ownLayout);
    // The jars of the shared stack (STACK_DIR), not a second 160 MB download.
    symlinkSync(path.join(jars.root, 'lib'), path.join(root, 'lib'));
    await dropDatabase(registryDatabaseUrl(env.DATABASE_URL));
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
    await registry.start(env, ownLayout, processes);
    await registry.prepare?.(env);
  });

  afterAll(async () => {
    await processes.stop('schema-registry');
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await dropDatabase(registryDatabaseUrl(env.DATABASE_URL)).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('still knows every schema id the stored messages name, with no provisioning in between', async () => {
    const before = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL });
    const subject = `${topic}-value`;
    // Two versions of one subject and a second subject: ids that re-registering in another order
    // would not reproduce.
    const { id: labelId } = await before.register({ type: SchemaType.AVRO, schema: JSON.stringify(other) }, { subject: `${topic}-label-value` });
    const { id: v1Id } = await before.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    const { id: v2Id } = await before.register({ type: SchemaType.AVRO, schema: JSON.stringify(v2) }, { subject });
    expect(new Set([labelId, v1Id, v2Id]).size).toBe(3);

    const values = [
      { id: v1Id, value: { id: 'p-1' } },
      { id: v2Id, value: { id: 'p-2', weight: 7 } },
      { id: labelId, value: { text: 'fragile' } },
      { id: v1Id, value: { id: 'p-3' } },
    ];
    const producer = createIdempotentProducer(testKafka());
    await producer.connect();
    await producer.send({
      topic,
      acks: ACKS_ALL,
      messages: await Promise.all(values.map(async ({ id, value }) => ({ value: await before.encode(id, value) }))),
    });
    await producer.disconnect();

    await processes.stop('schema-registry');
    await registry.start(env, ownLayout, processes);

    const subjects = (await (await fetch(`${env.SCHEMA_REGISTRY_URL}/subjects`)).json()) as string[];
    expect(subjects).toEqual(expect.arrayContaining([subject, `${topic}-label-value`]));

    const messages = await readTopic(topic, (seen) => seen.length >= values.length);
    // A client with an empty cache: every schema comes from the restarted registry.
    const after = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL });
    const decoded = await Promise.all(messages.map((message) => after.decode(message.value!)));
    expect(decoded).toEqual(values.map(({ value }) => value));
    expect(messages.map((message) => message.value!.readUInt32BE(1))).toEqual(values.map(({ id }) => id));
    expect(await after.getLatestSchemaId(subject)).toBe(v2Id);
    expect(await after.getRegistryId(subject, 1)).toBe(v1Id);
  }, 240_000);

  it('keeps answering after PostgreSQL drops its connections (a database restart)', async () => {
    const database = new URL(registryDatabaseUrl(env.DATABASE_URL));
    const admin = new pg.Client({ connectionString: shared.DATABASE_URL });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1',
        [database.pathname.slice(1)],
      );
      expect(rows[0]!.n, 'registry connections dropped').toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    // Its pool held only dead connections: every call answered 500 until the registry was restarted.
    await registry.prepare?.(env);
    const client = new SchemaRegistry({ host: env.SCHEMA_REGISTRY_URL });
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify({ ...other, name: 'Sticker' }) }, { subject: `${topic}-sticker-value` });
    expect(await client.getLatestSchemaId(`${topic}-sticker-value`)).toBe(id);
  }, 60_000);
});
