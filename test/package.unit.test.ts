/**
 * The Node version is one decision: package.json `engines`, the `node` devDependency that npm scripts
 * run on (it puts its binary first on PATH inside `npm run`/`npx`), @types/node and the image.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const major = (range: string) => Number(/(\d+)/.exec(range)?.[1]);
const engineMajor = major(packageJson.engines.node);

describe('Node version', () => {
  it('engines, the node devDependency and @types/node name one major version', () => {
    expect(engineMajor).toBeGreaterThanOrEqual(24);
    expect(major(packageJson.devDependencies.node!)).toBe(engineMajor);
    expect(major(packageJson.devDependencies['@types/node']!)).toBe(engineMajor);
  });

  it('the tests run on it (npm scripts take node from node_modules/.bin), and so do the processes they spawn', () => {
    expect(major(process.versions.node)).toBe(engineMajor);
    const child = spawnSync(process.execPath, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    expect(major(child.stdout)).toBe(engineMajor);
  });
});
