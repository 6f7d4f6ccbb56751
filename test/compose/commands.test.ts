/**
 * The compose file's commands, run here as compose would run them, against the local stack: the
 * JavaScript built as the image builds it (`npm run build`), the init step exactly as declared (it
 * must provision every declared topic and schema), and each service with nothing but its compose
 * environment (stack addresses swapped for this machine's) until its own compose healthcheck
 * passes, then a SIGTERM that it must survive cleanly.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, topology } from '../../shared/contracts/topics.js';
import { physicalTopics, valueSubject } from '../../shared/kafka/topology.js';
import { services as codeServices } from '../../stack/services.js';
import { freePort, killAll, type ServiceProcess } from '../support/processes.js';
import { testKafka } from '../support/stack.js';
import { infrastructure, initService } from './code-truth.js';
import { readCompose, repoRoot, type ComposeService } from './compose-file.js';

const compose = readCompose();
const started: ServiceProcess[] = [];

// The commands run dist/: build it first, the way the image's build stage does.
beforeAll(() => {
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: repoRoot, encoding: 'utf8', timeout: 170_000 });
  expect(build.status, `npm run build failed:\n${build.stdout}\n${build.stderr}`).toBe(0);
}, 180_000);

describe('the build', () => {
  it('puts every file the compiled code loads through new URL(..., import.meta.url) next to it', () => {
    const dist = path.join(repoRoot, 'dist');
    const missing: string[] = [];
    let assets = 0;
    for (const file of readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.js'))) {
      const source = readFileSync(path.join(dist, file), 'utf8');
      for (const match of source.matchAll(/new URL\(['"]([^'"]+\.[a-z]+)['"], import\.meta\.url\)/g)) {
        assets++;
        const target = path.resolve(path.dirname(path.join(dist, file)), match[1]!);
        if (!existsSync(target)) missing.push(`${file}: ${match[1]}`);
      }
    }
    expect(assets, 'asset references found').toBeGreaterThan(0);
    expect(missing).toEqual([]);
    expect(readdirSync(path.join(dist, 'schemas')).filter((name) => name.endsWith('.avsc')).sort()).toEqual(
      readdirSync(path.join(repoRoot, 'schemas')).filter((name) => name.endsWith('.avsc')).sort(),
    );
  });
});

afterAll(async () => {
  await killAll(started);
});

/** The compose environment with this machine's stack addresses, and nothing inherited but PATH. */
function hostEnvironment(service: ComposeService, overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...service.environment };
  for (const variable of Object.keys(infrastructure)) {
    const local = process.env[variable];
    if (variable in env && local) env[variable] = local;
  }
  return { ...env, ...overrides };
}

/** Runs a compose command in the repository (the image's working directory holds the same tree). */
function run(command: string[], env: Record<string, string>): ServiceProcess {
  const [program, ...args] = command;
  const child = spawn(program === 'node' ? process.execPath : program!, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      output.push(...lines);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const process_ = { child, output, exited };
  started.push(process_);
  return process_;
}

function logLines(output: readonly string[]): Array<Record<string, unknown>> {
  return output.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

function healthcheckPasses(service: ComposeService, env: Record<string, string>): boolean {
  const [kind, ...rest] = service.healthcheck?.test ?? [];
  const argv = kind === 'CMD-SHELL' ? ['sh', '-c', rest.join(' ')] : rest;
  const [program, ...args] = argv;
  const result = spawnSync(program === 'node' ? process.execPath : program!, args, { cwd: repoRoot, env, timeout: 5000 });
  return result.status === 0;
}


describe('compose init step, run here', () => {
  it('provisions every declared topic (with retry and DLQ topics) and registers every schema', async () => {
    const init = compose.get(initService.name)!;
    const process_ = run(init.command, hostEnvironment(init));
    const exit = await process_.exited;
    expect(exit, process_.output.join('\n')).toEqual({ code: 0, signal: null });

    const logs = logLines(process_.output);
    const provisioned = logs.find((line) => line.msg === 'topics provisioned');
    expect(provisioned?.total, 'topics the init step declares').toBe(physicalTopics(topology).length);
    const registered = logs.find((line) => line.msg === 'schemas registered')?.schemaIds as Record<string, number> | undefined;
    expect(Object.keys(registered ?? {}).sort()).toEqual(Object.values(topics).map((t) => t.name).sort());

    const admin = testKafka().admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      expect(physicalTopics(topology).filter((t) => !existing.has(t.name)).map((t) => t.name)).toEqual([]);
    } finally {
      await admin.disconnect();
    }
    const response = await fetch(`${process.env.SCHEMA_REGISTRY_URL!.replace(/\/+$/, '')}/subjects`);
    const subjects = new Set((await response.json()) as string[]);
    expect(Object.values(topics).map(valueSubject).filter((subject) => !subjects.has(subject))).toEqual([]);
  });
});

// Optional parts behind a profile (third-party images such as the Kafka UI) do not run here.
const appServices = [...compose.values()].filter(
  (service) =>
    service.name !== initService.name &&
    service.profiles.length === 0 &&
    !Object.values(infrastructure).some((part) => part.service === service.name),
);

describe.each(appServices.map((service) => [service.name, service] as const))('compose service %s, run here', (name, service) => {
  it('becomes healthy by its own healthcheck with only its compose environment, and stops cleanly on SIGTERM', async () => {
    const code = codeServices.find((s) => s.name === name);
    if (!code) throw new Error(`stack/services.ts does not list ${name}: it has not landed yet (or compose drifted)`);
    const overrides: Record<string, string> = { [code.portVariable]: String(await freePort()) };
    // Listening on every interface is for containers; here loopback is enough.
    if ('HOST' in service.environment) overrides.HOST = '127.0.0.1';
    const env = hostEnvironment(service, overrides);
    expect(healthcheckPasses(service, env), 'the healthcheck passes with nothing listening').toBe(false);
    const process_ = run(service.command, env);

    const deadline = Date.now() + 120_000;
    let healthy = false;
    while (!healthy && Date.now() < deadline && process_.child.exitCode === null) {
      healthy = healthcheckPasses(service, env);
      if (!healthy) await sleep(1000);
    }
    expect(healthy, `${name} never passed its healthcheck:\n${process_.output.slice(-30).join('\n')}`).toBe(true);

    process_.child.kill('SIGTERM');
    const exit = await process_.exited;
    expect(exit, process_.output.slice(-20).join('\n')).toEqual({ code: 0, signal: null });
  }, 180_000);
});
