/**
 * docker-compose.yml against the Compose Specification JSON schema. The schema file comes with the
 * dclint package (a devDependency), which keeps a copy of compose-spec's schema current.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import draft7 from 'ajv/dist/refs/json-schema-draft-07.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { readComposeDocument } from './compose-file.js';

const require = createRequire(import.meta.url);
const schemaFile = path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');

function validator() {
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as { $schema: string; title?: string };
  // The schema uses annotations (e.g. `deprecated`) that draft-07 does not define: not strict.
  const ajv = new Ajv({ allErrors: true, strict: false });
  // It names draft-07 by its https address; ajv knows the meta-schema by the http one.
  ajv.addMetaSchema({ ...draft7, $id: schema.$schema });
  return { title: schema.title, validate: ajv.compile(schema) };
}

const describeErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema', () => {
    const { title, validate } = validator();
    expect(title).toBe('Compose Specification');
    const valid = validate(readComposeDocument());
    expect(describeErrors(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema is strict enough to catch a typo', () => {
    const { validate } = validator();
    const document = readComposeDocument() as { services: Record<string, Record<string, unknown>> };
    const broken = { ...document, services: { ...document.services, kafka: { ...document.services.kafka, healthchek: {} } } };
    expect(validate(broken)).toBe(false);
    expect(describeErrors(validate.errors).join('\n')).toContain('healthchek');
  });
});
