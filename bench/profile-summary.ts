/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile | directory>`: where a process's main thread spent
 * its time (a V8 CPU profile, e.g. from BENCH_CPU_PROF=dir npm run bench:ingest), as self time per part:
 * kafkajs (record-batch decoding, the rest of its protocol, consumer, network), pg, avsc, the
 * service and shared code, Node's internals, garbage collection and idle. Prints the top functions too.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { printTable } from './support.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const target = process.argv[2];
if (!target) throw new Error('usage: profile-summary.ts <file.cpuprofile | directory>');
const file = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => path.join(target, name))
      .sort((x, y) => statSync(y).size - statSync(x).size)[0]
  : target;
if (!file) throw new Error(`no .cpuprofile in ${target}`);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

function part({ functionName, url }: ProfileNode['callFrame']): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return '(program: V8 outside JS)';
  const kafkajs = /node_modules\/kafkajs[^/]*\/src\/(.*)$/.exec(url)?.[1];
  if (kafkajs !== undefined) {
    if (kafkajs.startsWith('protocol/recordBatch') || kafkajs.startsWith('protocol/requests/fetch') || kafkajs === 'protocol/decoder.js' || kafkajs === 'utils/long.js') {
      return 'kafkajs: fetch and record decoding';
    }
    if (kafkajs.startsWith('consumer/')) return 'kafkajs: consumer';
    if (kafkajs.startsWith('network/')) return 'kafkajs: network';
    return 'kafkajs: other';
  }
  if (url.includes('node_modules/pg')) return 'pg (and pg-copy-streams)';
  if (url.includes('node_modules/avsc')) return 'avsc (Avro decoding)';
  if (url.includes('node_modules/pino') || url.includes('node_modules/prom-client')) return 'pino, prom-client';
  if (url.includes('node_modules/')) return 'other libraries';
  if (url.includes('/services/')) return 'service code';
  if (url.includes('/shared/')) return 'shared code (consumer runtime, serde)';
  if (url.startsWith('node:') || url === '') return 'Node internals, native (Buffer, streams, sockets)';
  return 'other';
}

const selfMicros = new Map<number, number>();
profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const byPart = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const node of profile.nodes) {
  const micros = selfMicros.get(node.id) ?? 0;
  if (micros === 0) continue;
  byPart.set(part(node.callFrame), (byPart.get(part(node.callFrame)) ?? 0) + micros);
  const where = node.callFrame.url ? `${node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/(services|shared)\//, '$1/')}:${node.callFrame.lineNumber + 1}` : '';
  const name = `${node.callFrame.functionName || '(anonymous)'} ${where}`.trim();
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
}
const total = [...byPart.values()].reduce((sum, v) => sum + v, 0);
const busy = total - (byPart.get('idle') ?? 0);
console.log(`${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy`);
printTable(
  [...byPart]
    .sort((x, y) => y[1] - x[1])
    .map(([name, micros]) => ({ part: name, seconds: Number((micros / 1e6).toFixed(2)), '% of busy': name === 'idle' ? '-' : `${((micros / busy) * 100).toFixed(1)} %` })),
);
console.log('');
printTable(
  [...byFunction]
    .filter(([name]) => !name.startsWith('(idle)'))
    .sort((x, y) => y[1] - x[1])
    .slice(0, 15)
    .map(([name, micros]) => ({ function: name, '% of busy': `${((micros / busy) * 100).toFixed(1)} %` })),
);
