import { createHash, randomUUID } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from '../../shared/db.js';
import { headerOf, isJsonRequest, sendProblem } from '../../shared/http.js';
import {
  IDEMPOTENCY_KEY_HEADER,
  invalidKeyMessage,
  isValidIdempotencyKey,
  reusedKeyMessage,
  type EarlierRequest,
} from '../../shared/idempotency/idempotency-keys.js';
import type { Logger } from '../../shared/logger.js';
import type { Outbox } from '../../shared/outbox/outbox.js';
import type { Catalogue } from './catalogue.js';
import {
  DEFAULT_CARD_TOKEN,
  findHistory,
  findOrder,
  insertOrder,
  orderIdempotencyKeys,
  requestCancel,
  type AcceptedOrder,
  type PricedLine,
} from './orders.js';
import { ordersAccepted, requestsRefused } from './metrics.js';
import { ajv, createOrderBody, describeSchemaError, type CreateOrderRequest } from './validation.js';
import type { OrderWorkflow } from './workflow.js';

export interface OrderRoutesOptions {
  pool: Pool;
  /** Where orders and cancels write their events; its relay publishes them after the commit. */
  outbox: Outbox;
  catalogue: Catalogue;
  logger: Logger;
  bodyLimitBytes: number;
  /** Starts each order's workflow in its transaction, and cancels. */
  workflow: OrderWorkflow;
}

export const MAX_QUANTITY = 1000;
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every error answer has this shape (sendProblem), counted; `field` names what to fix. */
export function problem(reply: FastifyReply, statusCode: number, message: string, field?: string): FastifyReply {
  requestsRefused.inc({ status: String(statusCode) });
  return sendProblem(reply, statusCode, message, field);
}

/** 415 before the body is read: fastify would otherwise parse text/plain and answer 400. */
export async function requireJson(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!isJsonRequest(request)) {
    await problem(reply, 415, 'Content-Type must be application/json', 'Content-Type');
  }
}

function hasBody(request: FastifyRequest): boolean {
  return Number(headerOf(request, 'content-length') ?? 0) > 0 || headerOf(request, 'transfer-encoding') !== undefined;
}

export function correlationIdOf(request: FastifyRequest): string {
  const given = headerOf(request, 'x-correlation-id');
  return given && given.length <= 200 ? given : randomUUID();
}

function sameRequestHash(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/**
 * The 422 rules of order lines: each quantity from 1 to MAX_QUANTITY, and each SKU's total too (the
 * same SKU twice is one line with the summed quantity). sku → quantity, or the problem.
 */
export function summedQuantities(items: ReadonlyArray<{ sku: string; quantity: number }>): Map<string, number> | { message: string; field: string } {
  const quantities = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    if (item.quantity <= 0) return { message: `items[${index}].quantity must be greater than 0`, field: `items[${index}].quantity` };
    if (item.quantity > MAX_QUANTITY) return { message: `items[${index}].quantity must be at most ${MAX_QUANTITY}`, field: `items[${index}].quantity` };
    quantities.set(item.sku, (quantities.get(item.sku) ?? 0) + item.quantity);
  }
  if ([...quantities.values()].some((quantity) => quantity > MAX_QUANTITY)) {
    return { message: `a SKU's total quantity must be at most ${MAX_QUANTITY}`, field: 'items' };
  }
  return quantities;
}

export function registerOrderRoutes(app: FastifyInstance, options: OrderRoutesOptions): void {
  const { pool, outbox, logger } = options;

  // Strict validation (no coercion of "2" into 2, unknown fields refused) instead of fastify's lenient default.
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema as object));

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const first = error.validation?.[0];
    if (first) {
      const { field, message } = describeSchemaError(first);
      return problem(reply, 400, message, field);
    }
    const status = error.statusCode ?? 500;
    if (status === 413) return problem(reply, 413, `request body is larger than ${options.bodyLimitBytes} bytes`, 'body');
    if (status === 415) return problem(reply, 415, 'Content-Type must be application/json', 'Content-Type');
    if (status === 400) return problem(reply, 400, error.message, 'body');
    if (status > 400 && status < 500) return problem(reply, status, error.message);
    logger.error({ err: error }, 'request failed');
    return problem(reply, 500, 'internal error');
  });

  const replay = (reply: FastifyReply, earlier: EarlierRequest, requestHash: string) => {
    if (earlier.requestHash !== requestHash) return problem(reply, 422, reusedKeyMessage, IDEMPOTENCY_KEY_HEADER);
    const accepted: AcceptedOrder = { orderId: earlier.resourceId, status: 'PENDING' };
    return reply.code(202).header('Location', `/orders/${accepted.orderId}`).header('Idempotent-Replayed', 'true').send(accepted);
  };

  app.post('/orders', { schema: { body: createOrderBody }, onRequest: requireJson }, async (request, reply) => {
    const body = request.body as CreateOrderRequest;
    const key = headerOf(request, 'idempotency-key');
    if (key !== undefined && !isValidIdempotencyKey(key)) return problem(reply, 400, invalidKeyMessage, IDEMPOTENCY_KEY_HEADER);
    const requestHash = sameRequestHash(body);
    if (key !== undefined) {
      const earlier = await orderIdempotencyKeys.find(pool, request.clientId, key);
      if (earlier) return replay(reply, earlier, requestHash);
    }

    // Business rules (422): positive quantities of SKUs the catalogue sells in this currency.
    const quantities = summedQuantities(body.items);
    if ('field' in quantities) return problem(reply, 422, quantities.message, quantities.field);
    const prices = await options.catalogue.priceList(body.currency);
    if (prices.size === 0) return problem(reply, 422, `the catalogue has no prices in ${body.currency}`, 'currency');
    if ([...quantities.keys()].some((sku) => !prices.has(sku))) {
      const index = body.items.findIndex((item) => !prices.has(item.sku));
      return problem(reply, 422, `unknown SKU "${body.items[index]?.sku}"`, `items[${index}].sku`);
    }
    const lines: PricedLine[] = [...quantities].map(([sku, quantity]) => ({ sku, quantity, unitPriceCents: prices.get(sku)! }));
    const totalCents = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);

    const order = {
      id: randomUUID(),
      clientId: request.clientId,
      eventId: randomUUID(),
      correlationId: correlationIdOf(request),
      customerId: body.customerId,
      email: body.email,
      currency: body.currency,
      lines,
      totalCents,
      cardToken: body.cardToken ?? DEFAULT_CARD_TOKEN,
      createdAt: Date.now(),
    };
    const claim = key === undefined ? undefined : { clientId: request.clientId, key, requestHash };
    const result = await insertOrder(pool, outbox, options.workflow, order, claim);
    if (result.kind === 'replay') return replay(reply, result.earlier, requestHash);
    ordersAccepted.inc();
    logger.info(
      { orderId: order.id, clientId: order.clientId, eventId: order.eventId, correlationId: order.correlationId, lines: lines.length, totalCents },
      'order accepted',
    );
    return reply.code(202).header('Location', `/orders/${order.id}`).header('X-Correlation-Id', order.correlationId).send(result.response);
  });

  app.get<{ Params: { id: string } }>('/orders/:id', async (request, reply) => {
    const { id } = request.params;
    if (!uuidPattern.test(id)) return problem(reply, 400, 'id must be a UUID', 'id');
    const order = await findOrder(pool, request.clientId, id);
    if (!order) return problem(reply, 404, `order ${id} not found`, 'id');
    return order;
  });

  app.get<{ Params: { id: string } }>('/orders/:id/history', async (request, reply) => {
    const { id } = request.params;
    if (!uuidPattern.test(id)) return problem(reply, 400, 'id must be a UUID', 'id');
    const transitions = await findHistory(pool, request.clientId, id);
    if (!transitions) return problem(reply, 404, `order ${id} not found`, 'id');
    return { orderId: id, transitions };
  });

  app.post<{ Params: { id: string } }>(
    '/orders/:id/cancel',
    { onRequest: async (request, reply) => (hasBody(request) ? requireJson(request, reply) : undefined) },
    async (request, reply) => {
      const { id } = request.params;
      if (!uuidPattern.test(id)) return problem(reply, 400, 'id must be a UUID', 'id');
      const body: unknown = request.body ?? {};
      const reason = typeof body === 'object' && body !== null && 'reason' in body ? body.reason : undefined;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return problem(reply, 400, 'body must be an object', 'body');
      if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500)) {
        return problem(reply, 400, 'reason must be a string of at most 500 characters', 'reason');
      }
      const result = await requestCancel(pool, options.workflow, request.clientId, id, reason ?? null);
      switch (result.kind) {
        case 'not-found':
          return problem(reply, 404, `order ${id} not found`, 'id');
        case 'conflict':
          return problem(reply, 409, `only a CONFIRMED order can be cancelled; this one is ${result.status}`, 'status');
        case 'already':
          return reply.code(200).send({ orderId: id, status: result.status });
        case 'cancelling':
          logger.info({ orderId: id }, 'order cancellation requested');
          return reply.code(202).header('Location', `/orders/${id}`).send({ orderId: id, status: result.status });
      }
    },
  );
}
