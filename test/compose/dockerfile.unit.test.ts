/**
 * The Dockerfile, read without a Docker engine: multi-stage, a small runtime base, a non-root user,
 * production dependencies only, JavaScript built once in a build stage (no TypeScript loader at run
 * time), and an image that holds everything the compose commands load (every module they import is
 * built from sources the build stage has, none excluded by .dockerignore, no package outside
 * `dependencies`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { schemasDir } from '../../shared/contracts/schemas.js';
import { repoRoot } from '../../stack/layout.js';
import { sourceEntry } from './code-truth.js';
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
/** The stage a runtime COPY takes `what` from (by `--from=<stage>`), if any. */
function sourceStage(what: RegExp): Stage | undefined {
  const copy = runtime.instructions.find((i) => i.keyword === 'COPY' && /--from=/.test(i.args) && what.test(i.args));
  const from = copy && /--from=(\S+)/.exec(copy.args)?.[1];
  return dockerfile.find((stage) => stage.name === from);
}
/** Where the compiled JavaScript comes from: the stage that runs `npm run build`. */
const buildStage = sourceStage(/\bdist\b/);
const buildConfig = ts.readConfigFile(path.join(repoRoot, 'tsconfig.build.json'), (file) => readFileSync(file, 'utf8')).config as { include: string[] };
const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  engines: { node: string };
};

/** Repository paths the build stage copies from the build context (not from another stage). */
const copiedFromContext = (buildStage?.instructions ?? [])
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

/** True when `npm run build` compiles the file (tsconfig.build.json includes a folder above it). */
function built(relative: string): boolean {
  return buildConfig.include.some((folder) => relative === folder || relative.startsWith(`${folder}/`));
}

/** The sources of the entries compose runs (`node dist/<entry>.js`), those that exist in the repository. */
function composeEntries(): string[] {
  return [...readCompose().values()]
    .filter((service) => service.command[0] === 'node')
    .map((service) => sourceEntry(service.command.at(-1)!))
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
    expect(runs.filter((run) => /\bnpm ci\b/.test(run.args)).length).toBeGreaterThan(0);
    // node_modules of the runtime stage come from a stage whose last dependency step leaves production
    // dependencies only: `npm ci --omit=dev`, or `npm ci` (to build) then `npm prune --omit=dev`.
    const modulesStage = sourceStage(/node_modules/);
    expect(modulesStage, 'the runtime stage copies node_modules from another stage').toBeDefined();
    const steps = modulesStage!.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm (ci|prune)\b/.test(i.args));
    expect(steps.at(-1)?.args, 'the last npm ci/prune of that stage').toMatch(/--omit=dev\b/);
  });

  it('builds JavaScript once in a build stage and runs it on plain node, with no TypeScript loader', () => {
    expect(buildStage, 'the runtime stage copies dist/ from a build stage').toBeDefined();
    expect(buildStage!.instructions.some((i) => i.keyword === 'RUN' && /\bnpm run (-s )?build\b/.test(i.args)), 'npm run build').toBe(true);
    const cmd = runtime.instructions.filter((i) => i.keyword === 'CMD').at(-1)?.args ?? '';
    expect(JSON.parse(cmd) as string[]).toEqual(['node', 'dist/scripts/provision.js']);
    for (const stage of dockerfile) {
      for (const i of stage.instructions.filter((x) => ['CMD', 'ENTRYPOINT', 'ENV'].includes(x.keyword))) expect(i.args).not.toMatch(/\btsx\b|--import|--loader/);
    }
    expect(Object.keys(packageJson.dependencies), 'tsx is a development tool only').not.toContain('tsx');
    // dist/*.js are ES modules because package.json says "type": "module": it must be in the image.
    expect(runtime.instructions.some((i) => i.keyword === 'COPY' && !/--from=/.test(i.args) && /\bpackage\.json\b/.test(i.args))).toBe(true);
  });

  it('builds every module the compose commands load, and they need no devDependency', () => {
    const entries = composeEntries();
    expect(entries).toContain('scripts/provision.ts');
    const { files, packages } = importGraph(entries);
    expect([...files].filter((file) => !inImage(file)), 'loaded but not in the build stage').toEqual([]);
    expect([...files].filter((file) => !built(file)), 'loaded but not compiled by tsconfig.build.json').toEqual([]);
    const production = new Set(Object.keys(packageJson.dependencies));
    expect([...packages].filter((name) => !production.has(name)), 'imported but not a production dependency').toEqual([]);
  });

  it('has the Avro schemas read at run time in the build, which copies them next to the compiled code', () => {
    const schemas = path.relative(repoRoot, fileURLToPath(schemasDir));
    expect(inImage(path.join(schemas, 'order-created.avsc'))).toBe(true);
    expect(inImage('patches/kafkajs+2.2.4.patch'), 'the kafkajs patch reaches the image').toBe(true);
  });
});
