import { setTimeout as sleep } from 'node:timers/promises';
import { progress } from '../load.js';
import type { Scenario } from '../run.js';
import { killPart, requireStack, startPart } from '../stack-control.js';

/**
 * A 3-broker cluster (RF 3, min.insync.replicas 2) losing one broker to SIGKILL mid-run; it is
 * started again later (at 70 % of the load, and at least `downMs` after the kill).
 */
export function brokerLoss(downMs = 20_000): Scenario {
  const name = '3 brokers, one SIGKILLed';
  return {
    name,
    brokers: 3,
    ownsStack: true,
    async disturb({ stack, load, note }) {
      const own = requireStack(stack, name);
      await progress(load, 0.3);
      const victim = `kafka-${1 + Math.floor(Math.random() * 3)}`;
      note(`SIGKILL ${victim} at ${load.done()} orders`);
      await killPart(own, victim);
      const killedAt = Date.now();
      await Promise.all([progress(load, 0.7), sleep(downMs)]);
      await startPart(own, victim);
      note(`${victim} back after ${((Date.now() - killedAt) / 1000).toFixed(1)} s, at ${load.done()} orders`);
    },
  };
}
