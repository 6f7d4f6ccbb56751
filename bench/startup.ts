/**
 * Start-up time and memory of each service process: the time from spawn to its `started` log line,
 * and its resident set size (VmRSS from /proc) a settle period later. Each service is started `runs`
 * times in turn and stopped with SIGTERM; medians are printed.
 *
 *   npm run bench:startup -- [--mode dist|tsx] [--node <path>] [--runs 3] [--settle-ms 2000]
 *
 * `dist` runs the built JavaScript (`npm run build` first), as the image does; `tsx` runs the sources
 * through the TypeScript loader, as `npm start` does. `--node` picks the Node binary (default: the
 * one running this). The stack's addresses come from the environment (KAFKA_BROKERS, ...), as for
 * the services; the services join their production consumer groups on that stack, so point it at a
 * stack no one else is using at the time.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { services } from '../stack/services.js';
import { repoRoot } from '../stack/layout.js';
import { median, printTable, writeResults } from './support.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'dist' },
    node: { type: 'string', default: process.execPath },
    runs: { type: 'string', default: '3' },
    'settle-ms': { type: 'string', default: '2000' },
  },
});
const mode = values.mode === 'tsx' ? 'tsx' : 'dist';
const runs = Number(values.runs);
const settleMs = Number(values['settle-ms']);
const nodeBinary = values.node;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function commandFor(entry: string): string[] {
  if (mode === 'tsx') return ['--import', 'tsx', entry];
  const built = path.join('dist', entry.replace(/\.ts$/, '.js'));
  if (!existsSync(path.join(repoRoot, built))) throw new Error(`${built} is missing: run \`npm run build\` first`);
  return [built];
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kib / 1024;
}

async function once(entry: string): Promise<{ startedMs: number; rssMiB: number }> {
  const port = String(await freePort());
  const began = performance.now();
  const child = spawn(nodeBinary, commandFor(entry), {
    cwd: repoRoot,
    env: { ...process.env, PORT: port, HTTP_PORT: port, LOG_LEVEL: 'info', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const output: string[] = [];
  try {
    const startedMs = await new Promise<number>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        output.push(line);
        if (/"msg":"started"/.test(line)) resolve(performance.now() - began);
      });
      createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
      void exited.then((code) => reject(new Error(`${entry} exited (${code}) before it started:\n${output.slice(-10).join('\n')}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    return { startedMs, rssMiB: rssMiB(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const version = (await new Promise<string>((resolve) => {
  const child = spawn(nodeBinary, ['--version']);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.once('exit', () => resolve(out.trim()));
}));

const rows = [];
for (const service of services) {
  const samples = [];
  for (let run = 0; run < runs; run++) samples.push(await once(service.entry));
  rows.push({
    service: service.name,
    'started (ms)': Math.round(median(samples.map((s) => s.startedMs))),
    'RSS (MiB)': Math.round(median(samples.map((s) => s.rssMiB)) * 10) / 10,
  });
}
console.log(`node ${version}, ${mode === 'dist' ? 'built JavaScript (dist/)' : 'TypeScript through tsx'}, median of ${runs}, RSS ${settleMs} ms after "started"`);
printTable(rows);
console.log(`results: ${writeResults(`startup-${mode}-${version}`, { node: version, mode, runs, settleMs, rows })}`);
