import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '../fleet.js';
import { progress } from '../load.js';
import type { Scenario } from '../run.js';

const groups: ServiceName[] = ['inventory', 'email', 'analytics', 'batch-ingestion', 'payments'];

/**
 * SIGKILL of random consumer members, `killsPerGroup` per group spread over the run, with
 * inventory ×3, email ×2 and payments ×2; each killed member comes back after `restartAfterMs`, as an
 * orchestrator would bring it.
 */
export function consumerKills(options: { killsPerGroup?: number; restartAfterMs?: number; seed?: number } = {}): Scenario {
  const killsPerGroup = options.killsPerGroup ?? 2;
  const restartAfterMs = options.restartAfterMs ?? 3000;
  return {
    name: 'consumer members SIGKILLed',
    scale: { inventory: 3, email: 2, payments: 2 },
    async disturb({ fleet, load, note }) {
      let seed = options.seed ?? 5;
      const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const kills = groups.flatMap((group) => Array.from({ length: killsPerGroup }, () => group)).sort(() => next() - 0.5);
      const restarts: Array<Promise<unknown>> = [];
      for (const [i, service] of kills.entries()) {
        await progress(load, (i + 1) / (kills.length + 1));
        // A group whose only member is still coming back: wait for it, the kill is not skipped.
        while (fleet.running(service).length === 0) await sleep(200);
        const members = fleet.running(service);
        const victim = members[Math.floor(next() * members.length)]!;
        await fleet.kill(victim);
        note(`SIGKILL ${victim.instance} at ${load.done()} orders`);
        // Settled here, so a failed restart is reported at the end, never an unhandled rejection.
        restarts.push(sleep(restartAfterMs).then(() => fleet.start(service, victim.instance)).then(() => undefined, (error: unknown) => error));
      }
      const failed = (await Promise.all(restarts)).filter((outcome) => outcome !== undefined);
      if (failed.length > 0) throw new Error(`restarts failed: ${failed.map(String).join('; ')}`);
    },
  };
}
