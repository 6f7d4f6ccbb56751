import { readFileSync } from 'node:fs';
import avro from 'avsc';

/** An Avro schema file, paired with the TypeScript type generated from the same file. */
export interface SchemaDeclaration<T> {
  /** The record's full name, e.g. com.orderpipeline.OrderCreated. */
  readonly name: string;
  readonly file: string;
  readonly definition: avro.Schema;
  readonly type: avro.Type;
  /** Carries the TypeScript type only; never set at run time. */
  readonly __value?: T;
}

export type ValueOf<S> = S extends SchemaDeclaration<infer T> ? T : never;

/** Reads and parses one .avsc file of `dir`; its top-level schema must be a named record. */
export function declareSchema<T>(dir: URL, file: string): SchemaDeclaration<T> {
  const definition = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as avro.Schema;
  const type = avro.Type.forSchema(definition);
  if (!type.name) throw new Error(`${file}: the top-level schema must be a named record`);
  return { name: type.name, file, definition, type };
}
