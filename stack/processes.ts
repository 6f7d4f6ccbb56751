import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import path from 'node:path';
import { pollUntil } from '../shared/retry/poll-until.js';
import type { Layout } from './layout.js';

/**
 * Detached background processes tracked by pid file. A pid only counts as ours while its command
 * line still names this stack's folder, so a recycled pid is never signalled. Never stop by name.
 */
export class Processes {
  constructor(private readonly layout: Layout) {}

  private pidFile(name: string): string {
    return path.join(this.layout.run, `${name}.pid`);
  }

  /** The pid of a running process of ours, or undefined. */
  running(name: string): number | undefined {
    const file = this.pidFile(name);
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').trim());
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (commandLine.includes(this.layout.root)) return pid;
    } catch {
      // gone
    }
    rmSync(file, { force: true });
    return undefined;
  }

  /** Starts `command` in its own process group with output to logs/<name>.log. */
  start(name: string, command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
    mkdirSync(this.layout.run, { recursive: true });
    mkdirSync(this.layout.logs, { recursive: true });
    const log = openSync(path.join(this.layout.logs, `${name}.log`), 'a');
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
    child.unref();
    writeFileSync(this.pidFile(name), String(child.pid));
    return child.pid;
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(name: string, graceMs = 20_000): Promise<boolean> {
    const pid = this.running(name);
    if (pid === undefined) return false;
    signalGroup(pid, 'SIGTERM');
    const stopped = await pollUntil(() => !this.alive(pid), { what: name, timeoutMs: graceMs, intervalMs: 100 }).catch(() => false);
    if (!stopped) await this.killed(name, pid);
    else rmSync(this.pidFile(name), { force: true });
    return true;
  }

  /** SIGKILL to the process group (a crash: no shutdown of its own); resolves when the process is gone. */
  async kill(name: string): Promise<boolean> {
    const pid = this.running(name);
    if (pid === undefined) return false;
    await this.killed(name, pid);
    return true;
  }

  private async killed(name: string, pid: number): Promise<void> {
    signalGroup(pid, 'SIGKILL');
    // Until the process is gone, not its pid file: a dying JVM's command line reads empty while
    // its sockets still answer, and a restart then seemed to come back at once.
    await pollUntil(() => !this.alive(pid), { what: name, timeoutMs: Infinity, intervalMs: 50 });
    rmSync(this.pidFile(name), { force: true });
  }

  private alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      // A zombie still answers kill(0); its state letter says it is gone.
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  await pollUntil(probe, { what, timeoutMs, intervalMs: 200 });
}
