/**
 * Writes shared/contracts/types.generated.ts from the .avsc files in schemas/, so the TypeScript types
 * cannot drift from the schemas (test/schemas/types.test.ts fails when the file is stale).
 * Run: npm run schemas:types
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

const schemasDir = new URL('../schemas/', import.meta.url);
export const generatedFile = new URL('../shared/contracts/types.generated.ts', import.meta.url);

function render(type: avro.Type, named: Map<string, string>): string {
  switch (type.typeName) {
    case 'record':
    case 'enum': {
      const name = type.name?.split('.').pop();
      if (!name) throw new Error('anonymous named type');
      if (!named.has(name)) {
        named.set(name, ''); // reserves the name first, so recursive references terminate
        named.set(name, declaration(type, name, named));
      }
      return name;
    }
    case 'array':
      return `Array<${render((type as avro.types.ArrayType).itemsType, named)}>`;
    case 'map':
      return `Record<string, ${render((type as avro.types.MapType).valuesType, named)}>`;
    case 'union:unwrapped':
      return (type as avro.types.UnwrappedUnionType).types.map((t) => render(t, named)).join(' | ');
  }
  const primitive: Record<string, string> = {
    null: 'null', boolean: 'boolean', int: 'number', long: 'number', float: 'number', double: 'number',
    bytes: 'Buffer', string: 'string',
  };
  const tsType = type.typeName && primitive[type.typeName];
  if (!tsType) throw new Error(`unsupported Avro type ${type.typeName ?? '?'}`);
  return tsType;
}

function declaration(type: avro.Type, name: string, named: Map<string, string>): string {
  const schema = type.schema({ exportAttrs: true }) as { doc?: string };
  const doc = schema.doc ? `/** ${schema.doc} */\n` : '';
  if (type.typeName === 'enum') {
    return `${doc}export type ${name} = ${(type as avro.types.EnumType).symbols.map((s) => `'${s}'`).join(' | ')};`;
  }
  const record = type as avro.types.RecordType;
  const fields = record.fields.map((field) => {
    const fieldSchema = (record.schema({ exportAttrs: true }) as { fields: Array<{ name: string; doc?: string; type: unknown }> }).fields.find(
      (f) => f.name === field.name,
    );
    const logical = (fieldSchema?.type as { logicalType?: string } | undefined)?.logicalType;
    const notes = [fieldSchema?.doc, logical === 'timestamp-millis' ? 'Epoch milliseconds.' : undefined].filter(Boolean);
    const comment = notes.length > 0 ? `  /** ${notes.join(' ')} */\n` : '';
    return `${comment}  ${field.name}: ${render(field.type, named)};`;
  });
  return `${doc}export interface ${name} {\n${fields.join('\n')}\n}`;
}

export function renderTypes(): string {
  const named = new Map<string, string>();
  const files = readdirSync(schemasDir).filter((f) => f.endsWith('.avsc')).sort();
  for (const file of files) {
    render(avro.Type.forSchema(JSON.parse(readFileSync(new URL(file, schemasDir), 'utf8')) as avro.Schema), named);
  }
  const header = '// Generated from schemas/*.avsc by `npm run schemas:types`. Do not edit.\n';
  return `${header}\n${[...named.values()].join('\n\n')}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(generatedFile, renderTypes());
  console.log(`wrote ${fileURLToPath(generatedFile)}`);
}
