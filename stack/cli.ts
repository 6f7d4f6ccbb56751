/**
 * The local stack without Docker: Kafka (KRaft), an Apicurio schema registry and PostgreSQL.
 *   npm run stack:up | stack:down | stack:status | stack:fetch
 *   npm run stack:up -- --brokers 3   (or KAFKA_BROKERS_COUNT=3)
 */
import { parseArgs } from 'node:util';
import { fetchJars } from './components.js';
import { down, formatStatus, localStack, status, up } from './local-stack.js';

const { values, positionals } = parseArgs({ options: { brokers: { type: 'string' } }, allowPositionals: true });
if (values.brokers !== undefined) process.env.KAFKA_BROKERS_COUNT = values.brokers;
const log = (line: string) => console.log(line);
const stack = localStack();
const command = positionals[0];

switch (command) {
  case 'fetch':
    fetchJars(stack.layout, log);
    break;
  case 'up': {
    const started = Date.now();
    const rows = await up(stack, log);
    console.log(formatStatus(rows));
    console.log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s (logs: ${stack.layout.logs})`);
    break;
  }
  case 'down': {
    const stopped = await down(stack);
    console.log(stopped.length > 0 ? `stopped: ${stopped.join(', ')}` : 'nothing of ours was running');
    break;
  }
  case 'status':
    console.log(formatStatus(await status(stack)));
    break;
  default:
    console.error('usage: tsx stack/cli.ts up|down|status|fetch [--brokers n]');
    process.exitCode = 2;
}
