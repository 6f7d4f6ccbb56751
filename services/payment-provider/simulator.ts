/**
 * The payment provider simulator: a third party's HTTP API (the way Stripe's stripe-mock stands in
 * for Stripe), run by the local stack, compose and the tests. The services never import it; the
 * payments service calls it over HTTP (PAYMENT_PROVIDER_URL). Charges live in memory: the
 * simulator's own records, which tests read to count captures, voids and refunds.
 *
 *   POST /v1/charges                 {amountCents, currency, cardToken, reference}  authorize (hold)
 *   POST /v1/charges/:id/capture     take the held amount
 *   POST /v1/charges/:id/void        release an authorization that was not captured
 *   POST /v1/charges/:id/refund      give a captured amount back
 *   GET  /v1/charges/:id             GET /v1/charges?reference=<order id>
 * Every POST takes an Idempotency-Key: the same key answers the first answer again (2xx and 402 are
 * kept; 4xx conflicts and 503 are not, so a retry after them is a new try); the same key with
 * another request gets 422.
 *
 * Controls (tests and demos): GET/POST /_control {latencyMs, outage, hang, declineCardTokens,
 * declineAmountsOverCents}, POST /_control/reset. The card tokens tok_chargeDeclined and
 * tok_insufficientFunds always decline.
 * It sits under services/ so compose builds and runs it like the rest; eslint keeps every service
 * from importing it (services never import each other).
 */
import { createHash, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

export type ChargeStatus = 'authorized' | 'captured' | 'voided' | 'refunded';

export interface ChargeOperation {
  type: 'authorize' | 'capture' | 'void' | 'refund';
  idempotencyKey: string;
  at: string;
}

export interface Charge {
  id: string;
  reference: string;
  amountCents: number;
  currency: string;
  status: ChargeStatus;
  createdAt: string;
  /** Operations that took effect, in order: at most one of each, since each moves the status on. */
  operations: ChargeOperation[];
}

export interface Behaviour {
  /** Every answer waits this long after the effect: the effect happens, the answer is late. */
  latencyMs: number;
  /** Every /v1 request gets 503 before any effect. */
  outage: boolean;
  /** Every /v1 request is held without an answer (until the client gives up) and has no effect. */
  hang: boolean;
  declineCardTokens: string[];
  /** Authorizations above this amount are declined; null: none. */
  declineAmountsOverCents: number | null;
}

const alwaysDeclined: Record<string, string> = { tok_chargeDeclined: 'generic_decline', tok_insufficientFunds: 'insufficient_funds' };

const defaultBehaviour = (): Behaviour => ({ latencyMs: 0, outage: false, hang: false, declineCardTokens: [], declineAmountsOverCents: null });

interface StoredAnswer {
  requestHash: string;
  statusCode: number;
  body: unknown;
}

interface Answer {
  statusCode: number;
  body: unknown;
}

export interface PaymentProvider {
  app: FastifyInstance;
  url: string;
  charges: Map<string, Charge>;
  close(): Promise<void>;
}

function error(statusCode: number, code: string, message: string): Answer {
  return { statusCode, body: { error: { code, message } } };
}

export function buildPaymentProvider(): { app: FastifyInstance; charges: Map<string, Charge> } {
  const app = Fastify({ logger: false });
  const charges = new Map<string, Charge>();
  const answers = new Map<string, StoredAnswer>();
  let behaviour = defaultBehaviour();
  const held = new Set<FastifyReply>();

  const transition = (id: string, type: 'capture' | 'void' | 'refund', key: string): Answer => {
    const charge = charges.get(id);
    if (!charge) return error(404, 'resource_missing', `no charge ${id}`);
    const from: Record<typeof type, ChargeStatus> = { capture: 'authorized', void: 'authorized', refund: 'captured' };
    const to: Record<typeof type, ChargeStatus> = { capture: 'captured', void: 'voided', refund: 'refunded' };
    if (charge.status !== from[type]) return error(409, 'charge_state', `cannot ${type} a charge that is ${charge.status}`);
    charge.status = to[type];
    charge.operations.push({ type, idempotencyKey: key, at: new Date().toISOString() });
    return { statusCode: 200, body: charge };
  };

  const authorize = (body: unknown, key: string): Answer => {
    const { amountCents, currency, cardToken, reference } = (body ?? {}) as Record<string, unknown>;
    if (typeof amountCents !== 'number' || !Number.isInteger(amountCents) || amountCents <= 0) return error(400, 'parameter_invalid', 'amountCents');
    if (typeof currency !== 'string' || typeof cardToken !== 'string' || typeof reference !== 'string') {
      return error(400, 'parameter_invalid', 'currency, cardToken and reference are strings');
    }
    const declineCode =
      alwaysDeclined[cardToken] ??
      (behaviour.declineCardTokens.includes(cardToken) ? 'generic_decline' : undefined) ??
      (behaviour.declineAmountsOverCents !== null && amountCents > behaviour.declineAmountsOverCents ? 'amount_too_large' : undefined);
    if (declineCode) return { statusCode: 402, body: { error: { code: 'card_declined', declineCode, message: 'the card was declined' } } };
    const now = new Date().toISOString();
    const charge: Charge = {
      id: `ch_${randomUUID().replaceAll('-', '')}`,
      reference,
      amountCents,
      currency,
      status: 'authorized',
      createdAt: now,
      operations: [{ type: 'authorize', idempotencyKey: key, at: now }],
    };
    charges.set(charge.id, charge);
    return { statusCode: 201, body: charge };
  };

  // One path through outage, hang, idempotency and latency for every POST of the API.
  const post = (run: (request: FastifyRequest, key: string) => Answer) => async (request: FastifyRequest, reply: FastifyReply) => {
    if (behaviour.outage) return reply.code(503).send({ error: { code: 'unavailable', message: 'the provider is unavailable' } });
    if (behaviour.hang) {
      held.add(reply);
      request.raw.on('close', () => held.delete(reply));
      return reply;
    }
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0 || key.length > 255) return reply.code(400).send(error(400, 'idempotency_key_missing', 'Idempotency-Key').body);
    const requestHash = createHash('sha256').update(`${request.url}\n${JSON.stringify(request.body ?? null)}`).digest('hex');
    const stored = answers.get(key);
    let answer: Answer;
    let replayed = false;
    if (stored) {
      if (stored.requestHash !== requestHash) return reply.code(422).send(error(422, 'idempotency_error', 'key used for another request').body);
      answer = stored;
      replayed = true;
    } else {
      answer = run(request, key);
      if ((answer.statusCode >= 200 && answer.statusCode < 300) || answer.statusCode === 402) {
        answers.set(key, { requestHash, statusCode: answer.statusCode, body: structuredClone(answer.body) });
      }
    }
    if (behaviour.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, behaviour.latencyMs));
    return reply.code(answer.statusCode).header('Idempotent-Replayed', String(replayed)).send(answer.body);
  };

  app.post('/v1/charges', post((request, key) => authorize(request.body, key)));
  for (const type of ['capture', 'void', 'refund'] as const) {
    app.post<{ Params: { id: string } }>(`/v1/charges/:id/${type}`, post((request, key) => transition((request.params as { id: string }).id, type, key)));
  }
  app.get<{ Params: { id: string } }>('/v1/charges/:id', async (request, reply) => {
    const charge = charges.get(request.params.id);
    return charge ? charge : reply.code(404).send(error(404, 'resource_missing', `no charge ${request.params.id}`).body);
  });
  app.get<{ Querystring: { reference?: string } }>('/v1/charges', async (request) => ({
    data: [...charges.values()].filter((charge) => request.query.reference === undefined || charge.reference === request.query.reference),
  }));

  app.get('/_control', async () => behaviour);
  app.post('/_control', async (request) => {
    behaviour = { ...behaviour, ...(request.body as Partial<Behaviour>) };
    if (!behaviour.hang) for (const reply of held) void reply.code(503).send({ error: { code: 'unavailable', message: 'released' } });
    if (!behaviour.hang) held.clear();
    return behaviour;
  });
  app.post('/_control/reset', async () => {
    behaviour = defaultBehaviour();
    charges.clear();
    answers.clear();
    return behaviour;
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Ready as soon as it listens (it depends on nothing): what process managers and the chaos fleet wait for.
  app.get('/readyz', async () => ({ status: 'ready' }));
  return { app, charges };
}

/** Starts the simulator on host:port (0: an ephemeral port). */
export async function startPaymentProvider(port = 0, host = '127.0.0.1'): Promise<PaymentProvider> {
  const { app, charges } = buildPaymentProvider();
  const address = await app.listen({ port, host });
  return { app, charges, url: address, close: () => app.close() };
}
