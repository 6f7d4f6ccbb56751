import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../stack/layout.js';
import { serviceNodeOptions } from '../../stack/services.js';
import { testAdminToken, testApiKey } from './api-client.js';
import { freePort, killAll, startProcess, type ServiceProcess } from './processes.js';

export type ServiceName = 'order' | 'inventory' | 'email' | 'analytics' | 'scheduler' | 'exports' | 'webhooks' | 'payments' | 'dashboard';

export interface RunningService extends ServiceProcess {
  name: ServiceName;
  instance: string;
  url: string;
  port: number;
}

/**
 * Service processes started by one test file, as real child processes
 * (`node --import tsx services/<name>/main.ts`) against the test stack. `stopAll()` in afterAll
 * kills whatever is still running, and only that.
 */
export class ServiceFleet {
  readonly started: RunningService[] = [];

  /**
   * @param options.built runs the services' built JavaScript (dist/, `npm run build`), as the
   *   image does, instead of their sources through tsx
   */
  constructor(private readonly options: { built?: boolean } = {}) {}

  /** Starts one instance and resolves once it answers `wait` (/readyz by default) with 200. */
  async start(
    name: ServiceName,
    env: Record<string, string> = {},
    options: { wait?: 'readyz' | 'healthz'; timeoutMs?: number } = {},
  ): Promise<RunningService> {
    const port = await freePort();
    const instance = `${name}-test-${this.started.length + 1}`;
    const entry = this.options.built ? path.join(repoRoot, 'dist', 'services', name, 'main.js') : path.join(repoRoot, 'services', name, 'main.ts');
    const process = startProcess(entry, {
      // The memory budget each service runs with (npm start, compose): a test at its limit fails here too.
      NODE_OPTIONS: serviceNodeOptions(name),
      LOG_LEVEL: 'info',
      INSTANCE_ID: instance,
      HTTP_PORT: String(port),
      // The services with a client API make sure the tests' client exists (ignored by the others).
      DEMO_API_KEY: testApiKey,
      ADMIN_TOKEN: testAdminToken,
      ...env,
    });
    const service: RunningService = { ...process, name, instance, port, url: `http://127.0.0.1:${port}` };
    this.started.push(service);
    await this.waitFor(service, options.wait ?? 'readyz', options.timeoutMs ?? 60_000);
    return service;
  }

  private async waitFor(service: RunningService, probe: 'readyz' | 'healthz', timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (service.child.exitCode !== null) {
        throw new Error(`${service.instance} exited (${service.child.exitCode}):\n${service.output.slice(-30).join('\n')}`);
      }
      const response = await fetch(`${service.url}/${probe}`).catch(() => undefined);
      if (response?.ok) return;
      await sleep(200);
    }
    throw new Error(`${service.instance} not ${probe} within ${timeoutMs} ms:\n${service.output.slice(-30).join('\n')}`);
  }

  /** SIGTERM, then resolves with how it exited (SIGKILL after `graceMs`). */
  async stop(service: RunningService, graceMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (service.child.exitCode !== null || service.child.signalCode !== null) return service.exited;
    service.child.kill('SIGTERM');
    const timer = setTimeout(() => service.child.kill('SIGKILL'), graceMs);
    try {
      return await service.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: no shutdown at all, as a crash. */
  async kill(service: RunningService): Promise<void> {
    service.child.kill('SIGKILL');
    await service.exited;
  }

  /**
   * SIGTERM to everything still running, SIGKILL after `graceMs`. A graceful stop leaves the
   * consumer groups at once; a killed member would hold up the next test's group for its session
   * timeout.
   */
  async stopAll(graceMs = 10_000): Promise<void> {
    const running = this.started.filter((s) => s.child.exitCode === null && s.child.signalCode === null);
    await Promise.all(running.map((service) => this.stop(service, graceMs)));
    await killAll(this.started);
  }

  /** The last lines of every process, for a failure message. */
  tails(lines = 20): string {
    return this.started.map((s) => `--- ${s.instance}\n${s.output.slice(-lines).join('\n')}`).join('\n');
  }
}
