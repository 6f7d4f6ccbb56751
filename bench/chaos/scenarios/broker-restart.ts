import { progress } from '../load.js';
import type { Scenario } from '../run.js';
import { killPart, requireStack, startPart, stopPart } from '../stack-control.js';

/** The (single) Kafka broker restarted under load: SIGTERM (controlled shutdown) or SIGKILL. */
export function brokerRestart(signal: 'SIGTERM' | 'SIGKILL'): Scenario {
  const name = `broker restarted (${signal})`;
  return {
    name,
    ownsStack: true,
    async disturb({ stack, load, note }) {
      const own = requireStack(stack, name);
      await progress(load, 0.3);
      const started = Date.now();
      note(`${signal} to the broker at ${load.done()} orders`);
      if (signal === 'SIGTERM') await stopPart(own, 'kafka');
      else await killPart(own, 'kafka');
      await startPart(own, 'kafka');
      note(`broker back after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
  };
}
