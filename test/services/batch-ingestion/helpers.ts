import path from 'node:path';
import pg from 'pg';
import { ACKS_ALL, createIdempotentProducer, type Message } from '../../../shared/kafka/client.js';
import { consumerGroups, topics } from '../../../shared/contracts/topics.js';
import { dlqTopicName, retryPolicyOf, retryTopicName } from '../../../shared/kafka/topology.js';
import type { AvroSerde } from '../../../shared/registry/serde.js';
import type { AnalyticsEvent } from '../../../shared/contracts/schemas.js';
import { repoRoot } from '../../../stack/layout.js';
import { startProcess, type ServiceProcess } from '../../support/processes.js';
import { eventually, testKafka } from '../../support/stack.js';
// Kept importable from here: the integration tests take every helper from one module.
export { makeEvents } from './sample-events.js';
export { freshDatabase } from '../../support/databases.js';

export const group = consumerGroups.batchIngestion;
export const source = topics.analyticsEvents;
export const entry = path.join(repoRoot, 'services', 'batch-ingestion', 'main.ts');

export async function encodeAll(serde: AvroSerde, events: readonly AnalyticsEvent[]): Promise<Message[]> {
  const messages: Message[] = [];
  for (const event of events) {
    messages.push({ key: event.orderId, value: await serde.encode(source, event), headers: { 'event-id': event.eventId } });
  }
  return messages;
}

/** Sends messages to analytics.events in arrays of `chunk` (one awaited send per message is slow). */
export async function produce(messages: readonly Message[], chunk = 2000): Promise<void> {
  const producer = createIdempotentProducer(testKafka());
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk) {
      await producer.send({ topic: source.name, acks: ACKS_ALL, messages: messages.slice(i, i + chunk) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** The group's source topic and its retry tiers: every topic the service subscribes to. */
export function groupTopics(): string[] {
  const tiers = retryPolicyOf(group).attempts - 1;
  return [source.name, ...Array.from({ length: tiers }, (_, i) => retryTopicName(source, group.groupId, i + 1))];
}

/**
 * Moves the group's committed offsets on its source and retry topics to their ends (or to
 * `offsets` where given), so the service started next reads only what the test produces afterwards.
 * Joins the group once to commit them all (kafkajs' admin.setOffsets joins once per topic, seconds
 * each). Needs the group to be empty: waits for members of an earlier (killed) process to time out.
 */
export async function moveOffsets(offsets: ReadonlyMap<string, ReadonlyArray<{ partition: number; offset: string }>> = new Map()): Promise<void> {
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  const commits: Array<{ topic: string; partition: number; offset: string }> = [];
  try {
    await eventually(
      async () => ((await admin.describeGroups([group.groupId])).groups[0]?.members.length ? undefined : true),
      'the batch-ingestion group to be empty',
      60_000,
    );
    for (const topic of groupTopics()) {
      const positions = offsets.get(topic) ?? (await admin.fetchTopicOffsets(topic)).map(({ partition, offset }) => ({ partition, offset }));
      for (const { partition, offset } of positions) commits.push({ topic, partition, offset });
    }
  } finally {
    await admin.disconnect();
  }
  const consumer = kafka.consumer({ groupId: group.groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topics: groupTopics(), fromBeginning: true });
    // Nothing is resolved or auto-committed: the only commit is the one below.
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
    await joined;
    await consumer.commitOffsets(commits);
  } finally {
    await consumer.disconnect();
  }
}

export const skipBacklog = () => moveOffsets();

/** Rows in analytics_events; 0 while the service has not created the table yet. */
export async function countRows(pool: pg.Pool, where = 'TRUE', params: unknown[] = []): Promise<number> {
  try {
    const result = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM analytics_events WHERE ${where}`, params);
    return Number(result.rows[0]?.n ?? 0);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return 0;
    throw error;
  }
}

export interface Ingestion extends ServiceProcess {
  /** Resolves with the HTTP base URL once the service has joined its group. */
  ready: Promise<string>;
}

/** Starts the service as a real child process (the caller kills it). */
export function startIngestion(env: Record<string, string>): Ingestion {
  const service = startProcess(entry, { HTTP_PORT: '0', LOG_LEVEL: 'info', ...env });
  const ready = (async () => {
    const base = await eventually(
      async () => {
        if (service.child.exitCode !== null) throw new Error(`batch-ingestion exited:\n${service.output.join('\n')}`);
        const line = service.output.find((l) => l.includes('"http listening"'));
        return line ? (JSON.parse(line) as { address: { address: string; port: number } }).address : undefined;
      },
      'batch-ingestion to listen',
      60_000,
    );
    const url = `http://${base.address}:${base.port}`;
    await eventually(
      async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok ? true : undefined),
      'batch-ingestion to join its group',
      60_000,
    );
    return url;
  })();
  ready.catch(() => undefined);
  return { ...service, ready };
}

/** One counter or gauge value from /metrics (sum over labels matching `labels`). */
export async function metricValue(baseUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{${labels}`) || (labels === '' && line.startsWith(`${name} `))) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

/** End offsets (summed over partitions) of the group's retry topics and DLQ: what failures wrote. */
export async function failureTopicEnds(): Promise<Record<string, number>> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const ends: Record<string, number> = {};
    for (const topic of [...groupTopics().slice(1), dlqTopicName(source, group.groupId)]) {
      ends[topic] = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    }
    return ends;
  } finally {
    await admin.disconnect();
  }
}

/** Inserts, without committing, a row with this event id: a COPY reaching the event waits on it. */
export async function holdRow(databaseUrl: string, eventId: string): Promise<pg.Client> {
  const blocker = new pg.Client({ connectionString: databaseUrl });
  blocker.on('error', () => undefined);
  await blocker.connect();
  await blocker.query('BEGIN');
  await blocker.query(
    `INSERT INTO analytics_events (event_id, event_type, order_id, customer_id, amount_cents, currency, occurred_at)
     VALUES ($1, 'REVENUE', 'blocker', 'blocker', 0, 'EUR', now())`,
    [eventId],
  );
  return blocker;
}
