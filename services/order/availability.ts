import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AvailabilityReply, AvailabilityRequest } from '../../shared/contracts/schemas.js';
import type { Logger } from '../../shared/logger.js';
import {
  ReplyConsumerNotReadyError,
  RequestReplyOverloadedError,
  type Outcome,
  type Reply,
  type Requester,
  type ResultStore,
} from '../../shared/request-reply/index.js';
import { problem, requireJson, summedQuantities, uuidPattern } from './routes.js';
import { availabilityBody, type AvailabilityBody } from './validation.js';

export interface AvailabilityRoutesOptions {
  requester: Requester<AvailabilityRequest, AvailabilityReply>;
  results: ResultStore<AvailabilityReply>;
  logger: Logger;
  /** The longest wait a caller may ask for (?timeoutMs=). */
  maxTimeoutMs: number;
}

/** Seconds a refused caller should wait before asking again. */
const RETRY_AFTER_S = 1;

/** A reply as the HTTP answer: the inventory's answer (200) or its typed error with the status it names. */
function sendReply(reply: FastifyReply, outcome: Reply<AvailabilityReply>, correlationId: string): FastifyReply {
  reply.header('X-Correlation-Id', correlationId);
  if (outcome.kind === 'error') {
    const { status, code, message } = outcome.error;
    return problem(reply.header('Reply-Error-Code', code), status, message);
  }
  const { items, repliedBy } = outcome.value;
  return reply.code(200).send({ items, repliedBy });
}

function pending(reply: FastifyReply, correlationId: string): FastifyReply {
  return reply
    .code(202)
    .header('Location', `/requests/${correlationId}`)
    .header('Retry-After', String(RETRY_AFTER_S))
    .send({ correlationId, status: 'PENDING' });
}

/**
 * POST /availability asks the inventory group over Kafka (request-reply) and answers with its reply;
 * past the timeout it answers 202 with the place the late reply will be served at, GET /requests/:id.
 */
export function registerAvailabilityRoutes(app: FastifyInstance, options: AvailabilityRoutesOptions): void {
  const { requester, results, logger } = options;

  app.post<{ Querystring: { timeoutMs?: string } }>(
    '/availability',
    { schema: { body: availabilityBody }, onRequest: requireJson },
    async (request, reply) => {
      const body = request.body as AvailabilityBody;
      const quantities = summedQuantities(body.items);
      if ('field' in quantities) return problem(reply, 422, quantities.message, quantities.field);
      const given = request.query.timeoutMs;
      const timeoutMs = given === undefined ? undefined : Number(given);
      if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= options.maxTimeoutMs)) {
        return problem(reply, 400, `timeoutMs must be a whole number from 1 to ${options.maxTimeoutMs}`, 'timeoutMs');
      }
      let outcome: Outcome<AvailabilityReply>;
      try {
        outcome = await requester.request(null, { items: body.items, requestedAt: Date.now() }, { timeoutMs });
      } catch (error) {
        if (!(error instanceof RequestReplyOverloadedError || error instanceof ReplyConsumerNotReadyError)) {
          logger.warn({ err: error }, 'availability request could not be sent');
        }
        return problem(reply.header('Retry-After', String(RETRY_AFTER_S)), 503, 'the inventory cannot be asked right now; try again shortly');
      }
      return outcome.kind === 'timeout' ? pending(reply, outcome.correlationId) : sendReply(reply, outcome, outcome.correlationId);
    },
  );

  app.get<{ Params: { id: string } }>('/requests/:id', async (request, reply) => {
    const { id } = request.params;
    if (!uuidPattern.test(id)) return problem(reply, 400, 'id must be a UUID', 'id');
    const result = await results.find(id);
    if (!result) return problem(reply, 404, `request ${id} not found`, 'id');
    switch (result.state) {
      case 'answered':
        return sendReply(reply, result.outcome, id);
      case 'pending':
        return pending(reply, id);
      case 'expired':
        return problem(reply, 504, `no reply to request ${id} before its deadline, ${result.deadline.toISOString()}`);
    }
  });
}
