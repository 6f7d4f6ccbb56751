/**
 * The second half of `npm run build`: copies the files the compiled code loads at run time through
 * `new URL(..., import.meta.url)` (Avro schemas, SQL) to the same relative place under dist/, so a
 * path that works from the sources works from dist/ too. Runs compiled, from dist/scripts/.
 */
import { cpSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folders holding run-time assets, and the file endings that are assets. */
const assetFolders = ['schemas', 'shared', 'services'];
const assetEndings = ['.avsc', '.sql'];
/** Files a service serves as they are (the dashboard's page): everything under a `public/` folder. */
const isPublic = (file: string) => file.split(path.sep).includes('public');

const dist = fileURLToPath(new URL('..', import.meta.url));
const root = path.dirname(dist);

function assetsIn(folder: string): string[] {
  return readdirSync(path.join(root, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && (assetEndings.some((ending) => entry.name.endsWith(ending)) || isPublic(path.join(entry.parentPath, entry.name))))
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

const copied = assetFolders.flatMap(assetsIn);
for (const file of copied) cpSync(path.join(root, file), path.join(dist, file));
console.log(`build: ${copied.length} assets copied to ${path.relative(root, dist)}/`);
