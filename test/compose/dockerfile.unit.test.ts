/**
 * The Dockerfile, read without a Docker engine: multi-stage, a small runtime base, a non-root user,
 * production dependencies only, and an image that holds everything the compose commands load (every
 * module they import, none excluded by .dockerignore, no package outside `dependencies`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { schemasDir } from '../../shared/contracts/schemas.js';
import { repoRoot } from '../../stack/layout.js';
import { readCompose } from './compose-file.js';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Stages and their instructions; comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match?.[1] ?? args, name: match?.[2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const dockerfile = parseDockerfile(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
const runtime = dockerfile.at(-1)!;
const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  engines: { node: string };
};

/** Repository paths the runtime stage copies from the build context (not from another stage). */
const copiedFromContext = runtime.instructions
  .filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args))
  .flatMap((i) => {
    const parts = i.args.split(/\s+/).filter((part) => !part.startsWith('--'));
    return parts.slice(0, -1);
  });

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/^\/+|\/+$/g, '')
    .split(/(\*\*\/?|\*|\?)/)
    .map((part) => (part.startsWith('**') ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

const dockerignore = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
  .split(/\r?\n/)
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#') && !line.startsWith('!'))
  .map(globToRegExp);

/** True when .dockerignore keeps the file (or a folder above it) out of the build context. */
function ignored(relative: string): boolean {
  const parts = relative.split('/');
  return parts.some((_, i) => dockerignore.some((re) => re.test(parts.slice(0, i + 1).join('/'))));
}

function inImage(relative: string): boolean {
  return copiedFromContext.some((source) => relative === source || relative.startsWith(`${source.replace(/\/+$/, '')}/`)) && !ignored(relative);
}

/** Module specifiers a file loads at run time: type-only imports are erased and left out. */
function runtimeImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument && ts.isStringLiteral(argument)) found.push(argument.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every repository file and package reached from the entries through run-time imports. */
function importGraph(entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = entries.map((entry) => path.join(repoRoot, entry));
  while (queue.length > 0) {
    const file = queue.pop()!;
    const relative = path.relative(repoRoot, file);
    if (files.has(relative)) continue;
    files.add(relative);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('.')) {
        const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
        queue.push(existsSync(target) ? target : path.resolve(path.dirname(file), specifier));
      } else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier.split('/')[0]!)) {
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
      }
    }
  }
  return { files, packages };
}

/** The entries compose runs (`node --import tsx <entry>`), those that exist in the repository. */
function composeEntries(): string[] {
  return [...readCompose().values()]
    .filter((service) => service.command[0] === 'node')
    .map((service) => service.command.at(-1)!)
    .filter((entry) => existsSync(path.join(repoRoot, entry)));
}

describe('Dockerfile', () => {
  it('is multi-stage with a small Node runtime matching package.json engines', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    expect(runtime.from).toMatch(/^node:\d+(\.\d+)*-(slim|alpine)/);
    const engineMajor = /(\d+)/.exec(packageJson.engines.node)?.[1];
    for (const stage of dockerfile) expect(stage.from.startsWith(`node:${engineMajor}`), stage.from).toBe(true);
  });

  it('runs as a non-root user', () => {
    const users = runtime.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0']).not.toContain(users.at(-1));
  });

  it('installs production dependencies only, exactly from the lock file', () => {
    const runs = dockerfile.flatMap((stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => ({ stage, args: i.args })));
    expect(runs.filter((run) => /\bnpm (install|i)\b/.test(run.args)), 'npm install does not follow the lock file').toEqual([]);
    const installs = runs.filter((run) => /\bnpm ci\b/.test(run.args));
    expect(installs.length).toBeGreaterThan(0);
    for (const install of installs) expect(install.args, 'npm ci').toMatch(/--omit=dev\b/);
    // node_modules of the runtime stage come from such a stage (or an npm ci in the runtime stage).
    const installStages = new Set(installs.map((install) => install.stage.name));
    const copiesModules = runtime.instructions.some((i) => {
      const from = /--from=(\S+)/.exec(i.args)?.[1];
      return i.keyword === 'COPY' && from !== undefined && installStages.has(from) && /node_modules/.test(i.args);
    });
    expect(copiesModules || installs.some((install) => install.stage === runtime)).toBe(true);
  });

  it('holds every module the compose commands load, and they need no devDependency', () => {
    const entries = composeEntries();
    expect(entries).toContain('scripts/provision.ts');
    const { files, packages } = importGraph(entries);
    expect([...files].filter((file) => !inImage(file)), 'loaded but not in the image').toEqual([]);
    const production = new Set(Object.keys(packageJson.dependencies));
    expect([...packages].filter((name) => !production.has(name)), 'imported but not a production dependency').toEqual([]);
    // tsx runs the TypeScript sources in the image.
    expect(production.has('tsx')).toBe(true);
  });

  it('holds the Avro schemas read at run time', () => {
    const schemas = path.relative(repoRoot, fileURLToPath(schemasDir));
    expect(inImage(path.join(schemas, 'order-created.avsc'))).toBe(true);
  });
});
