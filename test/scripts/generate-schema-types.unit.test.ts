import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedFile, renderTypes } from '../../scripts/generate-schema-types.js';

describe('generated schema types', () => {
  it('match the .avsc files (run `npm run schemas:types` after changing a schema)', () => {
    expect(readFileSync(generatedFile, 'utf8')).toBe(renderTypes());
  });
});
