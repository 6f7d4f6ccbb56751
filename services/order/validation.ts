import { Ajv } from 'ajv';
import formats from 'ajv-formats';

// ajv-formats is CommonJS with an ES default export: under NodeNext the function sits on .default.
const addFormats = formats.default;

/**
 * Request validation: JSON schemas checked by a strict Ajv (no type coercion, unknown fields
 * refused), and errors translated into one message naming the field, e.g. `items[0].quantity`.
 */
export const ajv = new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: false, strict: true });
addFormats(ajv, ['email']);

/** An order's lines, or the lines an availability request asks about. */
const orderLines = {
  type: 'array',
  minItems: 1,
  maxItems: 100,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'quantity'],
    properties: {
      sku: { type: 'string', minLength: 1, maxLength: 64 },
      // Whole numbers only; the value itself (> 0) is a business rule answered with 422.
      quantity: { type: 'integer' },
    },
  },
} as const;

export const createOrderBody = {
  type: 'object',
  additionalProperties: false,
  required: ['customerId', 'email', 'items', 'currency'],
  properties: {
    customerId: { type: 'string', minLength: 1, maxLength: 100 },
    email: { type: 'string', format: 'email', maxLength: 254 },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    items: orderLines,
    // The payment provider's card token (tok_…); tok_visa when absent.
    cardToken: { type: 'string', minLength: 1, maxLength: 100, pattern: '^tok_[A-Za-z0-9_]+$' },
  },
} as const;

export const availabilityBody = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: { items: orderLines },
} as const;

export interface AvailabilityBody {
  items: Array<{ sku: string; quantity: number }>;
}

export interface CreateOrderRequest {
  customerId: string;
  email: string;
  currency: string;
  items: Array<{ sku: string; quantity: number }>;
  cardToken?: string;
}

/** `/items/0/quantity` → `items[0].quantity` */
export function fieldName(pointer: string, child?: string): string {
  const parts = pointer.split('/').slice(1);
  if (child !== undefined) parts.push(child);
  return parts.reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), '') || 'body';
}

export interface FieldProblem {
  field: string;
  message: string;
}

/** An Ajv error as fastify passes it on (FastifySchemaValidationError). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

export function describeSchemaError(error: SchemaError): FieldProblem {
  switch (error.keyword) {
    case 'required': {
      const field = fieldName(error.instancePath, String(error.params.missingProperty));
      return { field, message: `${field} is required` };
    }
    case 'additionalProperties': {
      const field = fieldName(error.instancePath, String(error.params.additionalProperty));
      return { field, message: `${field} is not a known field` };
    }
    case 'format': {
      const field = fieldName(error.instancePath);
      return { field, message: `${field} must be a valid ${String(error.params.format)}` };
    }
    case 'pattern': {
      const field = fieldName(error.instancePath);
      return { field, message: `${field} must match ${String(error.params.pattern)}` };
    }
    default: {
      const field = fieldName(error.instancePath);
      return { field, message: `${field} ${error.message ?? 'is invalid'}` };
    }
  }
}
