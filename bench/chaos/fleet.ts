import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../stack/layout.js';
import { serviceNodeOptions, services } from '../../stack/services.js';
import { testApiKey } from '../../test/support/api-client.js';

export type ServiceName = 'order' | 'inventory' | 'email' | 'analytics' | 'batch-ingestion' | 'payments' | 'payment-provider';

export interface Member {
  service: ServiceName;
  /** INSTANCE_ID, e.g. "inventory#2". */
  instance: string;
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** Answered /readyz once: only such members are picked as victims. */
  ready: boolean;
}

export interface FleetOptions {
  /** The environment every service gets (the stack's addresses and more). */
  env: Record<string, string>;
  /** First HTTP port; member i of the fleet listens on basePort + i. */
  basePort: number;
  /** Where each member's output goes (one file per instance). */
  logDir: string;
}

/**
 * The services as real processes (`node --import tsx services/<name>/main.ts`), as `npm start`
 * runs them, each instance with its own HTTP port; members can be killed and started again.
 */
export class Fleet {
  readonly members: Member[] = [];
  private nextPort: number;

  constructor(private readonly options: FleetOptions) {
    this.nextPort = options.basePort;
    mkdirSync(options.logDir, { recursive: true });
    // Whatever ends this process (a crash, Ctrl-C) must not leave service processes behind.
    process.once('exit', () => {
      for (const member of this.members) if (this.alive(member)) member.child.kill('SIGKILL');
    });
  }

  /** Starts `count` instances of each service and resolves once all answer /readyz. */
  async startAll(scale: Partial<Record<ServiceName, number>> = {}): Promise<void> {
    // The payment provider (a third party's simulator) first: the payments members are given its address.
    await this.start('payment-provider', 'payment-provider#1');
    const started: Array<Promise<Member>> = [];
    for (const service of services) {
      const name = service.name as ServiceName;
      if (name === 'payment-provider') continue;
      for (let i = 1; i <= (scale[name] ?? 1); i++) started.push(this.start(name, `${name}#${i}`));
    }
    await Promise.all(started);
  }

  /** Starts one instance (a new port each time, so a restarted member never races its predecessor). */
  async start(service: ServiceName, instance: string): Promise<Member> {
    const definition = services.find((s) => s.name === service);
    if (!definition) throw new Error(`unknown service ${service}`);
    const port = this.nextPort++;
    const provider = this.providerUrl();
    const log = createWriteStream(path.join(this.options.logDir, `${instance.replace('#', '-')}.log`), { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, definition.entry)], {
      // The order API makes sure the client placeOrders calls as exists.
      env: {
        ...process.env,
        NODE_OPTIONS: serviceNodeOptions(service),
        DEMO_API_KEY: testApiKey,
        ...this.options.env,
        ...(provider ? { PAYMENT_PROVIDER_URL: provider } : {}),
        [definition.portVariable]: String(port),
        INSTANCE_ID: instance,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    // A spawn that fails (no node binary) ends as 'error' without 'exit': count it as exited.
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (error) => {
        log.write(`could not start: ${error.message}\n`);
        resolve();
      });
    });
    void exited.then(() => log.end());
    const member: Member = { service, instance, port, child, exited, ready: false };
    this.members.push(member);
    await this.ready(member);
    member.ready = true;
    return member;
  }

  private async ready(member: Member, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive(member)) throw new Error(`${member.instance} exited while starting (see its log)`);
      const response = await fetch(`http://127.0.0.1:${member.port}/readyz`).catch(() => undefined);
      if (response?.ok) return;
      await sleep(250);
    }
    throw new Error(`${member.instance} not ready within ${timeoutMs} ms`);
  }

  alive(member: Member): boolean {
    return member.child.pid !== undefined && member.child.exitCode === null && member.child.signalCode === null;
  }

  /** Members of `service` that are up and were ready (not those still starting). */
  running(service: ServiceName): Member[] {
    return this.members.filter((m) => m.service === service && m.ready && this.alive(m));
  }

  /** The payment provider simulator's address (its records are the money's truth). */
  providerUrl(): string | undefined {
    const provider = this.members.find((m) => m.service === 'payment-provider' && m.ready && this.alive(m));
    return provider && `http://127.0.0.1:${provider.port}`;
  }

  /** The order API of a running order service. */
  orderUrl(): string | undefined {
    const order = this.running('order')[0];
    return order && `http://127.0.0.1:${order.port}`;
  }

  /** SIGKILL: a crash, no shutdown at all. */
  async kill(member: Member): Promise<void> {
    member.child.kill('SIGKILL');
    await member.exited;
  }

  /** SIGTERM to every running member, SIGKILL after `graceMs`. */
  async stopAll(graceMs = 20_000): Promise<void> {
    await Promise.all(
      this.members.filter((m) => this.alive(m)).map(async (member) => {
        member.child.kill('SIGTERM');
        const timer = setTimeout(() => member.child.kill('SIGKILL'), graceMs);
        await member.exited;
        clearTimeout(timer);
      }),
    );
  }
}
