import { fetchJars, kafka, mail, postgres, registry, type Component } from './components.js';
import { layout as stackLayout, stackEnv, type Layout, type StackEnv } from './layout.js';
import { Processes } from './processes.js';

/** In dependency order: a component comes after those it `needs`. */
export const components: readonly Component[] = [kafka, postgres, registry, mail];

export interface StackStatus {
  component: string;
  address: string;
  state: 'started' | 'running' | 'external' | 'stopped';
}

export interface LocalStack {
  env: StackEnv;
  layout: Layout;
  processes: Processes;
}

export function localStack(source: Record<string, string | undefined> = process.env): LocalStack {
  const layout = stackLayout(source.STACK_DIR);
  return { env: stackEnv(source), layout, processes: new Processes(layout) };
}

/**
 * Starts every component that does not answer yet, in parallel, and resolves when all answer.
 * Something already answering is used as it is (state "external" when it is not ours), so running
 * `up` twice, or against a PostgreSQL the machine already runs, is harmless.
 */
export async function up(stack: LocalStack, log: (line: string) => void = () => {}): Promise<StackStatus[]> {
  fetchJars(stack.layout, log);
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
  for (const component of components) tasks.set(component.name, bring(component));
  return Promise.all(tasks.values());
}

/** Stops the named components (default: all) that this stack started; never touches external ones. */
export async function down(stack: LocalStack, names: readonly string[] = components.map((c) => c.name)): Promise<string[]> {
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
    components.map(async (component) => {
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
