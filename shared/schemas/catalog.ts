import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type {
  AnalyticsEvent,
  InventoryRejected,
  InventoryReleased,
  InventoryReserved,
  OrderCancelled,
  OrderCreated,
  OrderStep,
} from './types.generated.js';

export type * from './types.generated.js';

/** An Avro schema from schemas/, paired with the TypeScript type generated from the same file. */
export interface SchemaDeclaration<T> {
  /** The record's full name, e.g. com.orderpipeline.OrderCreated. */
  readonly name: string;
  readonly file: string;
  readonly definition: avro.Schema;
  readonly type: avro.Type;
  /** Carries the TypeScript type only; never set at run time. */
  readonly __value?: T;
}

export const schemasDir = new URL('../../schemas/', import.meta.url);

function declare<T>(file: string): SchemaDeclaration<T> {
  const definition = JSON.parse(readFileSync(new URL(file, schemasDir), 'utf8')) as avro.Schema;
  const type = avro.Type.forSchema(definition);
  if (!type.name) throw new Error(`${file}: the top-level schema must be a named record`);
  return { name: type.name, file, definition, type };
}

export const schemas = {
  OrderCreated: declare<OrderCreated>('order-created.avsc'),
  AnalyticsEvent: declare<AnalyticsEvent>('analytics-event.avsc'),
  OrderCancelled: declare<OrderCancelled>('order-cancelled.avsc'),
  InventoryReserved: declare<InventoryReserved>('inventory-reserved.avsc'),
  InventoryRejected: declare<InventoryRejected>('inventory-rejected.avsc'),
  InventoryReleased: declare<InventoryReleased>('inventory-released.avsc'),
  OrderStep: declare<OrderStep>('order-step.avsc'),
};

export type ValueOf<S> = S extends SchemaDeclaration<infer T> ? T : never;
