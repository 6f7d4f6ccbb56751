import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../stack/layout.js';
import { localStack, up, type LocalStack } from '../stack/local-stack.js';

/** Prints rows as an aligned table. */
export function printTable(rows: ReadonlyArray<Record<string, string | number>>): void {
  const columns = Object.keys(rows[0] ?? {});
  const cell = (value: string | number) => (typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 2 }) : value);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(cell(r[c] ?? '')).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => String(cell(row[c] ?? '')))));
}

/** Writes bench/results/<name>.json (gitignored: results belong to the machine that made them). */
export function writeResults(name: string, results: unknown): string {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...(results as object) }, null, 2)}\n`);
  return file.pathname;
}

/** A file of /proc/<pid>/ (Linux), or undefined when the process is gone. */
function procFile(pid: number | string | undefined, file: string): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** A process's peak (VmHWM) or current (VmRSS) resident set, MB; 0 when it is gone. */
export function residentMb(pid: number | undefined, which: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  const match = new RegExp(`${which}:\\s+(\\d+) kB`).exec(procFile(pid, 'status') ?? '');
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

/** User + system CPU time of a process so far, seconds (clock ticks are 1/100 s on Linux); 0 once it is gone. */
export function cpuSecondsOf(pid: number | undefined): number {
  const stat = procFile(pid, 'stat');
  if (stat === undefined) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The processes of this machine whose command is `name` (e.g. every PostgreSQL backend). */
export function processesNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && procFile(entry, 'comm')?.trim() === name)
    .map(Number);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The stack of the environment (the local stack started if needed) with the contract's topics and
 * schemas provisioned; its addresses are put into process.env for the services the bench starts.
 */
export async function provisionedStack(): Promise<LocalStack> {
  const stack = localStack();
  await up(stack);
  Object.assign(process.env, stack.env);
  const provision = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'scripts', 'provision.ts')], { stdio: 'ignore' });
  if (provision.status !== 0) throw new Error('provisioning failed');
  return stack;
}

/** Ctrl-C or SIGTERM stops the bench's service processes before it exits. */
export function stopFleetOnSignal(fleet: { stopAll(): Promise<void> }): void {
  const stop = () => void fleet.stopAll().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
