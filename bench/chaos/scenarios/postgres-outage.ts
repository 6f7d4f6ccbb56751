import { setTimeout as sleep } from 'node:timers/promises';
import { progress } from '../load.js';
import type { Scenario } from '../run.js';
import { requireStack, startPart, stopPart } from '../stack-control.js';

/**
 * PostgreSQL stopped for `seconds` under load. Only on a stack whose PostgreSQL is its own
 * embedded one (the chaos stack's), never a server someone else uses.
 */
export function postgresOutage(seconds: number): Scenario {
  const name = `PostgreSQL down ${seconds} s`;
  return {
    name,
    ownsStack: true,
    async disturb({ stack, load, note }) {
      const own = requireStack(stack, name);
      if (own.processes.running('postgres') === undefined) throw new Error(`${name}: the stack's PostgreSQL is not its own embedded one`);
      await progress(load, 0.3);
      note(`PostgreSQL stopped at ${load.done()} orders`);
      await stopPart(own, 'postgres');
      await sleep(seconds * 1000);
      await startPart(own, 'postgres');
      note(`PostgreSQL back at ${load.done()} orders`);
    },
  };
}
