/**
 * `npm run bench:decoder`: the CPU time kafkajs spends per record turning a fetched record batch into
 * the consumer's messages, the installed (patched, patches/kafkajs+2.2.4.patch) kafkajs against the
 * pristine 2.2.4 (the `kafkajs-pristine` alias). One 1,000-record batch shaped like analytics.events
 * (order-id key, a 120-byte Avro-sized value, an event-id header, offsets in the millions), encoded
 * once by kafkajs's own encoder; each variant decodes it (record-batch decoder, then the consumer's
 * Batch with its offset filter) in a process of its own, rounds alternating. Prints µs per record
 * (median of the rounds) and writes bench/results/decoder.json.
 *   BENCH_ROUNDS (default 3), BENCH_ITERATIONS (decodes of the batch per round, default 2000)
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, printTable, writeResults } from './support.js';

const require = createRequire(import.meta.url);
const packages = { 'kafkajs 2.2.4 (pristine)': 'kafkajs-pristine', 'kafkajs 2.2.4 + patch': 'kafkajs' } as const;
type Variant = keyof typeof packages;
const records = 1000;

interface Decoded {
  records: unknown[];
}
type RecordBatchDecoder = (decoder: object) => Promise<Decoded>;

async function measure(packageName: string, iterations: number): Promise<number> {
  const root = path.dirname(require.resolve(`${packageName}/package.json`));
  const load = <T>(file: string): T => require(path.join(root, file)) as T;
  const pristine = path.dirname(require.resolve('kafkajs-pristine/package.json'));
  // The same bytes for both: encoded by the pristine package's encoder.
  const { RecordBatch: encodeBatch } = require(path.join(pristine, 'src/protocol/recordBatch/v0/index.js')) as { RecordBatch: (batch: object) => Promise<{ buffer: Buffer }> };
  const encodeRecord = require(path.join(pristine, 'src/protocol/recordBatch/record/v0/index.js')) as (record: object) => unknown;
  const Long = require(path.join(pristine, 'src/utils/long.js')) as { fromValue(value: number | string): unknown };
  const firstOffset = 5_000_000;
  const now = Date.now();
  const value = Buffer.alloc(120, 1);
  const batch = await encodeBatch({
    firstOffset: Long.fromValue(firstOffset),
    firstTimestamp: now,
    maxTimestamp: now + records,
    lastOffsetDelta: records - 1,
    records: Array.from({ length: records }, (_, i) =>
      encodeRecord({ offsetDelta: i, timestampDelta: i, key: Buffer.from(`bench-1a2b3c4d-order-${333_333 + i}`), value, headers: { 'event-id': `bench-1a2b3c4d-${1_000_000 + i}` } }),
    ),
  });
  const Decoder = load<new (buffer: Buffer) => object>('src/protocol/decoder.js');
  const decode = load<RecordBatchDecoder>('src/protocol/recordBatch/v0/decoder.js');
  const Batch = load<new (topic: string, fetchedOffset: string, data: object) => { messages: unknown[] }>('src/consumer/batch.js');
  const fetchedOffset = String(firstOffset + 10);
  const once = async () => {
    const { records: messages } = await decode(new Decoder(batch.buffer));
    const result = new Batch('analytics.events', fetchedOffset, { partition: 0, highWatermark: String(firstOffset + records), abortedTransactions: [], messages });
    if (result.messages.length !== records - 10) throw new Error('unexpected decode');
  };
  for (let i = 0; i < 200; i++) await once();
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) await once();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (iterations * records);
}

const [, , child, iterationsArg] = process.argv;
if (child) {
  console.log(JSON.stringify({ microsecondsPerRecord: await measure(child, Number(iterationsArg)) }));
} else {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const iterations = Number(process.env.BENCH_ITERATIONS ?? 2000);
  const self = fileURLToPath(import.meta.url);
  const results: Record<string, number[]> = Object.fromEntries(Object.keys(packages).map((v) => [v, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const variant of Object.keys(packages) as Variant[]) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', self, packages[variant], String(iterations)], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`${variant}: ${run.stderr}`);
      results[variant]!.push((JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { microsecondsPerRecord: number }).microsecondsPerRecord);
    }
    console.log(`round ${round}/${rounds} done`);
  }
  const baseline = median(results['kafkajs 2.2.4 (pristine)']!);
  const rows = Object.entries(results).map(([variant, values]) => ({
    variant,
    'µs per record (median)': Number(median(values).toFixed(2)),
    rounds: values.map((v) => v.toFixed(2)).join(' '),
    'vs pristine': `${((median(values) / baseline) * 100).toFixed(0)} %`,
  }));
  printTable(rows);
  console.log(`results: ${writeResults('decoder', { records, iterations, rounds, results, rows })}`);
}
