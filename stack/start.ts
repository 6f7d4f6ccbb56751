/**
 * `npm start`: the local stack, provisioning, then every service as child processes with prefixed
 * logs. Ctrl-C (or SIGTERM) stops the services gracefully, then the stack parts this run started.
 *   npm start -- --scale inventory=3 --scale email=2
 *   npm start -- --brokers 3     (or KAFKA_BROKERS_COUNT=3: three Kafka brokers, topics on 3 replicas)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { mailSinkUrl, repoRoot } from './layout.js';
import { down, formatStatus, localStack, serviceEnv, status, up, type StackStatus } from './local-stack.js';
import { adminToken, demoApiKey } from './demo-client.js';
import { serviceNodeOptions, services } from './services.js';

// With `npm start | tee log`, Ctrl-C kills tee too: a closed stdout must not abort the shutdown below.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const { values } = parseArgs({
  options: { scale: { type: 'string', multiple: true, default: [] }, brokers: { type: 'string' } },
});
if (values.brokers !== undefined) process.env.KAFKA_BROKERS_COUNT = values.brokers;
const scale = new Map<string, number>();
for (const entry of values.scale) {
  const match = /^([\w-]+)=(\d+)$/.exec(entry);
  const service = match && services.find((s) => s.name === match[1]);
  if (!match || !service) {
    console.error(`--scale ${entry}: expected <service>=<n> with a service among ${services.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  scale.set(service.name, Number(match[2]));
}

const stack = localStack();
// Ctrl-C while the stack starts must not leave Kafka and the registry running: note it, finish
// starting, then stop what this run started.
let interrupted = false;
const onEarlySignal = () => {
  interrupted = true;
  console.log('stopping once the stack has started…');
};
process.on('SIGINT', onEarlySignal).on('SIGTERM', onEarlySignal);
const ourBefore = new Set((await status(stack)).filter((row) => row.state === 'running').map((row) => row.component));
let rows: StackStatus[];
try {
  rows = await up(stack, (line) => console.log(`[stack] ${line}`));
} catch (error) {
  console.error(`the stack did not start: ${error instanceof Error ? error.message : String(error)}`);
  await down(stack, stack.components.map((c) => c.name).filter((name) => !ourBefore.has(name)));
  process.exit(1);
}
console.log(formatStatus(rows));
const startedHere = rows.filter((row) => row.state === 'started').map((row) => row.component);
// The services with a client API make sure the demo client exists with this key; operator endpoints take the admin token.
const env = { ...process.env, ...serviceEnv(stack), DEMO_API_KEY: demoApiKey(), ADMIN_TOKEN: adminToken() };

const provision = interrupted
  ? undefined
  : spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts', 'provision.ts')], { env, stdio: 'inherit' });
if (interrupted || provision?.status !== 0) {
  const stopped = await down(stack, startedHere);
  if (stopped.length > 0) console.log(`stopped: ${stopped.join(', ')}`);
  process.exit(interrupted ? 0 : 1);
}
process.off('SIGINT', onEarlySignal).off('SIGTERM', onEarlySignal);

const colors = [36, 33, 35, 32, 34, 31];
const children: ChildProcess[] = [];
services.forEach((service, index) => {
  const instances = scale.get(service.name) ?? 1;
  for (let i = 0; i < instances; i++) {
    const label = instances > 1 ? `${service.name}#${i + 1}` : service.name;
    // From the sources through tsx (a devDependency), unlike the image's built dist/: this is the
    // development loop, where an edit shows on the next start with no build and no stale dist/.
    // process.execPath is the Node that npm put first on PATH (the `node` devDependency).
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, service.entry)], {
      env: { NODE_OPTIONS: serviceNodeOptions(service.name), ...env, ...service.env, [service.portVariable]: String(service.port + i), INSTANCE_ID: label },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C reaches only this script, which then sends one SIGTERM. (A
      // terminal's SIGINT to the whole group plus that SIGTERM would count as a second signal and
      // force the services out without their graceful stop.)
      detached: true,
    });
    const prefix = `\u001b[${colors[index % colors.length]}m${label.padEnd(18)}|\u001b[0m `;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + line + '\n'));
    }
    child.on('exit', (code, signal) => console.log(`${prefix}exited (${signal ?? code})`));
    children.push(child);
    console.log(`${prefix}http://127.0.0.1:${service.port + i}`);
  }
});

const orderApi = services.find((service) => service.name === 'order');
if (orderApi) console.log(`Order API: http://127.0.0.1:${orderApi.port}/orders (README: "Try it")`);
console.log(`API key (local demo client): ${env.DEMO_API_KEY}\n  export KEY=${env.DEMO_API_KEY}`);
console.log(`Admin token (operator endpoints): export ADMIN_TOKEN=${env.ADMIN_TOKEN}`);
console.log(`Mail: ${mailSinkUrl()}/api/v1/messages`);
console.log('Running. Ctrl-C stops everything.');
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping services…');
    const exits = children.map(
      (child) =>
        new Promise<void>((resolve) =>
          // A child killed earlier by a signal has no exit code, and its 'exit' has fired already.
          child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
        ),
    );
    for (const child of children) child.kill('SIGTERM');
    void Promise.all(exits)
      .then(() => down(stack, startedHere))
      .then((stopped) => {
        if (stopped.length > 0) console.log(`stopped: ${stopped.join(', ')}`);
        process.exit(0);
      });
  });
}
