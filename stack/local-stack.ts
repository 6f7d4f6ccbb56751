import { readdirSync } from 'node:fs';
import { fetchJars, kafkaBroker, mail, postgres, registry, type Component } from './components.js';
import { brokerCount, layout as stackLayout, stackEnv, type Layout, type StackEnv } from './layout.js';
import { Processes } from './processes.js';

/** The stack's parts for `brokers` Kafka brokers, in dependency order (each after those it `needs`). */
export function stackComponents(brokers = 1): readonly Component[] {
  return [...Array.from({ length: brokers }, (_, i) => kafkaBroker(i + 1, brokers)), postgres, registry, mail];
}

/** The default stack's parts (one broker). */
export const components: readonly Component[] = stackComponents(1);

export interface StackStatus {
  component: string;
  address: string;
  state: 'started' | 'running' | 'external' | 'stopped';
}

export interface LocalStack {
  env: StackEnv;
  layout: Layout;
  processes: Processes;
  /** Kafka brokers (KAFKA_BROKERS_COUNT): 1, or 3 for a cluster that survives losing one. */
  brokers: number;
  components: readonly Component[];
}

export function localStack(source: Record<string, string | undefined> = process.env): LocalStack {
  const layout = stackLayout(source.STACK_DIR);
  const brokers = brokerCount(source);
  return { env: stackEnv(source), layout, processes: new Processes(layout), brokers, components: stackComponents(brokers) };
}

/**
 * What services and provisioning need besides the addresses: with several brokers, topics get
 * 3 replicas (and so min.insync.replicas 2).
 */
export function serviceEnv(stack: LocalStack): Record<string, string> {
  return stack.brokers > 1 ? { ...stack.env, TOPIC_REPLICATION_FACTOR: String(Math.min(stack.brokers, 3)) } : { ...stack.env };
}

/**
 * Starts every component that does not answer yet, in parallel, and resolves when all answer.
 * Something already answering is used as it is (state "external" when it is not ours), so running
 * `up` twice, or against a PostgreSQL the machine already runs, is harmless.
 */
export async function up(stack: LocalStack, log: (line: string) => void = () => {}): Promise<StackStatus[]> {
  fetchJars(stack.layout, log);
  const other = stack.brokers === 1 ? 'kafka-1' : 'kafka';
  if (stack.processes.running(other) !== undefined) {
    throw new Error(`${stack.layout.root} runs Kafka with ${stack.brokers === 1 ? 'several brokers' : 'one broker'}: stop it first (npm run stack:down)`);
  }
  const tasks = new Map<string, Promise<StackStatus>>();
  const bring = async (component: Component): Promise<StackStatus> => {
    // Started in parallel, except where one needs another first (the registry stores in PostgreSQL).
    await Promise.all((component.needs ?? []).map((name) => tasks.get(name)));
    const address = component.address(stack.env);
    let state: StackStatus['state'];
    if (stack.processes.running(component.name) !== undefined) {
      state = 'running';
    } else if (await component.answers(stack.env)) {
      state = 'external';
    } else {
      const started = Date.now();
      await component.start(stack.env, stack.layout, stack.processes);
      log(`${component.name} started in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      state = 'started';
    }
    await component.prepare?.(stack.env);
    return { component: component.name, address, state };
  };
  // Components come in dependency order (see `components`), so every need has its task by now.
  for (const component of stack.components) tasks.set(component.name, bring(component));
  return Promise.all(tasks.values());
}

/** Every process of this stack's that has a pid file, whatever broker count started it. */
function ourProcesses(stack: LocalStack): string[] {
  try {
    return readdirSync(stack.layout.run)
      .filter((file) => file.endsWith('.pid'))
      .map((file) => file.slice(0, -'.pid'.length));
  } catch {
    return [];
  }
}

/** Stops the named components (default: all of ours) that this stack started; never touches external ones. */
export async function down(stack: LocalStack, names: readonly string[] = ourProcesses(stack)): Promise<string[]> {
  const stopped: string[] = [];
  await Promise.all(
    names.map(async (name) => {
      if (await stack.processes.stop(name)) stopped.push(name);
    }),
  );
  return stopped;
}

export async function status(stack: LocalStack): Promise<StackStatus[]> {
  return Promise.all(
    stack.components.map(async (component) => {
      const ours = stack.processes.running(component.name) !== undefined;
      const answers = await component.answers(stack.env);
      const state: StackStatus['state'] = ours ? 'running' : answers ? 'external' : 'stopped';
      return { component: component.name, address: component.address(stack.env), state };
    }),
  );
}

export function formatStatus(rows: readonly StackStatus[]): string {
  const width = Math.max(...rows.map((row) => row.component.length));
  return rows.map((row) => `${row.component.padEnd(width)}  ${row.state.padEnd(8)}  ${row.address}`).join('\n');
}
