import { setTimeout as sleep } from 'node:timers/promises';
import { progress } from '../load.js';
import type { Scenario } from '../run.js';

/** SIGKILL of the order service (API, relay, saga) mid-load; back after 2 s. */
export const orderServiceKill: Scenario = {
  name: 'order service SIGKILLed',
  async disturb({ fleet, load, note }) {
    await progress(load, 0.4);
    const victim = fleet.running('order')[0];
    if (!victim) throw new Error('no order service running');
    await fleet.kill(victim);
    note(`SIGKILL ${victim.instance} at ${load.done()} orders`);
    await sleep(2000);
    await fleet.start('order', victim.instance);
  },
};
