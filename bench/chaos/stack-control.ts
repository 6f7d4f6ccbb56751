import type { LocalStack } from '../../stack/local-stack.js';

function component(stack: LocalStack, name: string) {
  const found = stack.components.find((c) => c.name === name);
  if (!found) throw new Error(`no stack component ${name} (have ${stack.components.map((c) => c.name).join(', ')})`);
  return found;
}

export function requireStack(stack: LocalStack | undefined, scenario: string): LocalStack {
  if (!stack) throw new Error(`${scenario} stops parts of the stack: it runs only on a stack of its own (npm run chaos)`);
  return stack;
}

/** SIGTERM (graceful), waiting until it is gone. */
export async function stopPart(stack: LocalStack, name: string): Promise<void> {
  if (!(await stack.processes.stop(name, 60_000))) throw new Error(`${name} is not a process of this stack`);
}

/** SIGKILL to its process group: a crash (no flush, no controlled shutdown). */
export async function killPart(stack: LocalStack, name: string): Promise<void> {
  if (!(await stack.processes.kill(name))) throw new Error(`${name} is not a process of this stack`);
}

/** Starts it again and resolves once it answers. */
export async function startPart(stack: LocalStack, name: string): Promise<void> {
  const part = component(stack, name);
  await part.start(stack.env, stack.layout, stack.processes);
  await part.prepare?.(stack.env);
}
