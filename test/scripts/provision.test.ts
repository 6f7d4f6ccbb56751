import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../stack/layout.js';

/** Runs a command's entry point with SCHEMA_REGISTRY_URL unset (the other addresses: the test stack's). */
async function runWithoutRegistry(entry: string, args: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent' };
  delete env.SCHEMA_REGISTRY_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}

describe('npm run provision and npm run dlq without addresses set', () => {
  it('both fall back to the local stack and say which addresses they use', async () => {
    const notice = /not set, so using the local stack's addresses \(npm start\): SCHEMA_REGISTRY_URL=http:\/\/127\.0\.0\.1:8081\/apis\/ccompat\/v7/;
    // list reads no schema: it succeeds against the test stack's broker.
    const dlq = await runWithoutRegistry('tools/dlq/cli.ts', ['list']);
    expect(dlq.stderr).toMatch(notice);
    expect(dlq.code).toBe(0);
    // Provisioning gets past its configuration (whether a registry answers there is another matter).
    const provision = await runWithoutRegistry('scripts/provision.ts');
    expect(provision.stderr).not.toContain('Invalid configuration');
    expect(provision.stderr).toMatch(notice);
  }, 120_000);
});
