/**
 * Finds the real stack the tests run against, in this order:
 *   1. KAFKA_BROKERS, SCHEMA_REGISTRY_URL and DATABASE_URL, when all are set;
 *   2. containers through testcontainers, when a Docker engine answers;
 *   3. a local stack of the tests' own (stack/, in .stack-test on other ports than `npm start`'s),
 *      starting what is missing and stopping, at the end, what it started; its database is
 *      emptied first.
 * Then provisions topics and schemas once, as a deployment would.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { kafkaVariables, loadConfig, registryVariables } from '../../shared/config.js';
import { provisionTopology } from '../../shared/kafka/provision.js';
import { createLogger } from '../../shared/logger.js';
import path from 'node:path';
import { defaults, mailSinkUrl, repoRoot, type StackEnv } from '../../stack/layout.js';
import { adminUrl } from '../../stack/components.js';
import { down, localStack, up } from '../../stack/local-stack.js';
import { startContainers } from './containers.js';
import { topology } from '../../shared/contracts/topics.js';

/** The stack's addresses, and where tests read the mail it received. */
export type TestEnv = StackEnv & { MAIL_SINK_URL: string };

declare module 'vitest' {
  export interface ProvidedContext {
    stackEnv: TestEnv;
  }
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/**
 * The tests' own database starts empty at every run. What an earlier run or a benchmark on the same
 * stack left in it is work in progress for a pipeline that is gone (scheduler jobs still pending for
 * orders nobody will answer), and this run's services would take it over: tens of thousands of
 * leftover order timeouts once buried every payment test's orders. A stack named by the
 * environment is someone else's and is left as it is.
 */
async function recreateDatabase(url: string): Promise<void> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new pg.Client({ connectionString: adminUrl(url) });
  await client.connect();
  try {
    const name = `"${database.replaceAll('"', '""')}"`;
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

async function findStack(): Promise<{ env: TestEnv; teardown: () => Promise<void> }> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, SMTP_URL } = process.env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && DATABASE_URL) {
    console.log('tests: using the stack named by the environment');
    return {
      env: { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, SMTP_URL: SMTP_URL ?? defaults.SMTP_URL, MAIL_SINK_URL: mailSinkUrl() },
      teardown: async () => {},
    };
  }
  if (await dockerAnswers()) {
    console.log('tests: starting containers');
    return startContainers();
  }
  // A local stack of the tests' own, beside the one `npm start` runs: tests start services in the
  // production consumer groups and use up stock, which must not reach a pipeline someone is trying.
  Object.assign(process.env, testStack);
  const stack = localStack();
  const rows = await up(stack, (line) => console.log(`tests: ${line}`));
  await recreateDatabase(stack.env.DATABASE_URL);
  const started = rows.filter((row) => row.state === 'started').map((row) => row.component);
  console.log(`tests: local stack in ${stack.layout.root} (${rows.map((row) => `${row.component} ${row.state}`).join(', ')})`);
  return { env: { ...stack.env, MAIL_SINK_URL: mailSinkUrl() }, teardown: async () => void (await down(stack, started)) };
}

/** Where the tests' local stack lives and listens (.ci/run stops it by the same STACK_DIR). */
const testStack = {
  STACK_DIR: path.join(repoRoot, '.stack-test'),
  KAFKA_BROKERS: '127.0.0.1:19092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
  DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/order_pipeline_test',
  SMTP_URL: 'smtp://127.0.0.1:12525',
  MAIL_SINK_URL: 'http://127.0.0.1:18025',
};

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { env, teardown } = await findStack();
  const logger = createLogger('test-setup');
  const config = loadConfig({ ...kafkaVariables, ...registryVariables }, env);
  await provisionTopology(config, logger, topology, 'test-setup');
  project.provide('stackEnv', env);
  return teardown;
}
