import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../stack/layout.js';
import { freePort, startProcess, type ServiceProcess } from './processes.js';

/**
 * A mail sink of the test's own (stack/smtp-sink.ts as a child process, on free ports, keeping its
 * mail in a temporary folder), for fault tests that freeze or stop the mail server: the shared
 * stack's sink is never touched. A restart listens on the same ports and keeps the mail received.
 */
export class PrivateMailSink {
  private process: ServiceProcess | undefined;

  private constructor(
    private readonly dir: string,
    readonly smtpUrl: string,
    /** Its Mailpit-shaped API, for test/support/mail.ts's `searchMail(query, apiUrl)`. */
    readonly apiUrl: string,
  ) {}

  static async start(): Promise<PrivateMailSink> {
    const dir = await mkdtemp(path.join(tmpdir(), 'mail-sink-'));
    const sink = new PrivateMailSink(dir, `smtp://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`);
    await sink.restart();
    return sink;
  }

  /** Starts the sink (again) and resolves once its API answers. */
  async restart(): Promise<void> {
    if (this.running) throw new Error('the mail sink is running');
    const started = startProcess(path.join(repoRoot, 'stack', 'smtp-sink.ts'), {}, [this.dir, this.smtpUrl, this.apiUrl]);
    this.process = started;
    const deadline = Date.now() + 30_000;
    while (!(await fetch(`${this.apiUrl}/readyz`).then((r) => r.ok).catch(() => false))) {
      if (started.child.exitCode !== null) throw new Error(`mail sink exited (${started.child.exitCode}):\n${started.output.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`mail sink did not answer within 30 s:\n${started.output.join('\n')}`);
      await sleep(100);
    }
  }

  get running(): boolean {
    const child = this.process?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** SIGSTOP: the process keeps its sockets, the kernel keeps accepting connections and data, nothing answers. */
  freeze(): void {
    this.process?.child.kill('SIGSTOP');
  }

  thaw(): void {
    this.process?.child.kill('SIGCONT');
  }

  /** SIGTERM, as `npm run stack:down` stops it (it lets open SMTP sessions end first); SIGKILL after `graceMs`. */
  async stop(graceMs = 60_000): Promise<void> {
    const started = this.process;
    if (!started || !this.running) return;
    started.child.kill('SIGCONT');
    started.child.kill('SIGTERM');
    const timer = setTimeout(() => started.child.kill('SIGKILL'), graceMs);
    try {
      await started.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: gone at once, open sessions cut; the mail received so far stays for a restart. */
  async kill(): Promise<void> {
    const started = this.process;
    if (!started || !this.running) return;
    started.child.kill('SIGKILL');
    await started.exited;
  }

  /** Stops it at once and removes its mail. */
  async dispose(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
