import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { withTransaction, type Pool } from '../../shared/db.js';
import { headerOf, isJsonRequest, sendProblem } from '../../shared/http.js';
import {
  IDEMPOTENCY_KEY_HEADER,
  invalidKeyMessage,
  isValidIdempotencyKey,
  reusedKeyMessage,
} from '../../shared/idempotency/idempotency-keys.js';
import type { Logger } from '../../shared/logger.js';
import type { Outbox } from '../../shared/outbox/outbox.js';
import { finishedStates, viewOf, type OnSettled, type Task, type TaskStore } from '../../shared/tasks/store.js';
import type { TaskChanges } from '../../shared/tasks/task-changes.js';
import { createExport, EXPORTS_QUEUE, resultPath } from './exports.js';
import { csvHeader, exportKinds, type ExportParams } from './kinds.js';
import { requestsRefused } from './metrics.js';

export interface ExportRoutesOptions {
  pool: Pool;
  outbox: Outbox;
  store: TaskStore;
  changes: TaskChanges;
  onSettled: OnSettled;
  logger: Logger;
  /**
   * What Retry-After suggests while an export is queued or running, in seconds.
   * @defaultValue 1
   */
  retryAfterSeconds?: number;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const requestBody = z.strictObject({
  kind: z.enum(exportKinds, { error: `kind must be one of ${exportKinds.join(', ')}` }),
  from: z.iso.datetime({ offset: true, error: 'from must be an ISO 8601 date-time' }),
  to: z.iso.datetime({ offset: true, error: 'to must be an ISO 8601 date-time' }),
  format: z.string({ error: 'format must be a string' }).default('csv'),
  callbackUrl: z.url({ protocol: /^https?$/, error: 'callbackUrl must be an http(s) URL' }).max(2000).optional(),
});

/** Every error answer has the shape of sendProblem, counted; `field` names what to fix. */
function problem(reply: FastifyReply, statusCode: number, message: string, field?: string): FastifyReply {
  requestsRefused.inc({ status: String(statusCode) });
  return sendProblem(reply, statusCode, message, field);
}

const etagOf = (task: Task) => `"${task.id.slice(0, 8)}-${task.version}"`;

/** Whether If-None-Match names the current ETag (a list, weak or strong, or *). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

/** GET /exports/:id's body: the task's view and the export's own fields. */
function exportView(task: Task) {
  const params = task.params as ExportParams;
  const view = viewOf(task);
  return {
    exportId: task.id,
    kind: params.kind,
    from: params.from,
    to: params.to,
    format: params.format,
    status: view.state,
    progress: view.progress,
    attempts: view.attempts,
    createdAt: view.createdAt,
    startedAt: view.startedAt,
    finishedAt: view.finishedAt,
    ...(task.state === 'SUCCEEDED' ? { resultUrl: resultPath(task.id) } : {}),
    ...(view.error ? { error: view.error } : {}),
  };
}

/** The CSV: the header line, then every chunk in order, a few at a time. */
async function* resultLines(pool: Pool, task: Task): AsyncGenerator<string> {
  yield csvHeader((task.params as ExportParams).kind);
  let after = 0;
  for (;;) {
    const { rows } = await pool.query<{ seq: number; data: string }>(
      'SELECT seq, data FROM export_chunks WHERE export_id = $1 AND seq > $2 ORDER BY seq LIMIT 8',
      [task.id, after],
    );
    for (const row of rows) yield row.data;
    if (rows.length < 8) return;
    after = rows.at(-1)!.seq;
  }
}

export function registerExportRoutes(app: FastifyInstance, options: ExportRoutesOptions): void {
  const { pool, outbox, store, changes, logger } = options;
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  // Open progress streams end before the server closes, which would otherwise wait for them.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of streams) close();
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 415) return problem(reply, 415, 'Content-Type must be application/json', 'Content-Type');
    if (status >= 400 && status < 500) return problem(reply, status, error.message, status === 400 ? 'body' : undefined);
    logger.error({ err: error }, 'request failed');
    return problem(reply, 500, 'internal error');
  });

  /** The task of a valid id, or the error answer already sent. */
  const findExport = async (request: FastifyRequest, id: string, reply: FastifyReply): Promise<Task | undefined> => {
    if (!uuidPattern.test(id)) {
      await problem(reply, 400, 'id must be a UUID', 'id');
      return undefined;
    }
    const found = await store.find(pool, id);
    // Another client's export is not found, as one that does not exist.
    const task = found?.queue === EXPORTS_QUEUE && (found.params as ExportParams).clientId === request.clientId ? found : undefined;
    if (!task) await problem(reply, 404, `export ${id} not found`, 'id');
    return task;
  };

  // 415 before the body is read: fastify would otherwise take text/plain as a string and answer 400.
  const requireJson = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isJsonRequest(request)) {
      await problem(reply, 415, 'Content-Type must be application/json', 'Content-Type');
    }
  };

  app.post('/exports', { onRequest: requireJson }, async (request, reply) => {
    const parsed = requestBody.safeParse(request.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.code === 'unrecognized_keys' ? issue.keys[0]! : issue.path.join('.') || 'body';
      return problem(reply, 400, issue.code === 'unrecognized_keys' ? `unknown field "${field}"` : issue.message, field);
    }
    const body = parsed.data;
    if (body.format !== 'csv') return problem(reply, 422, `format "${body.format}" is not supported (csv)`, 'format');
    if (Date.parse(body.to) <= Date.parse(body.from)) return problem(reply, 422, 'to must be after from', 'to');
    const key = headerOf(request, 'idempotency-key');
    if (key !== undefined && !isValidIdempotencyKey(key)) return problem(reply, 400, invalidKeyMessage, IDEMPOTENCY_KEY_HEADER);
    const params: ExportParams = {
      kind: body.kind,
      from: new Date(body.from).toISOString(),
      to: new Date(body.to).toISOString(),
      format: 'csv',
      callbackUrl: body.callbackUrl ?? null,
      clientId: request.clientId,
    };
    const requestHash = createHash('sha256').update(JSON.stringify(params)).digest('hex');
    const correlationId = headerOf(request, 'x-correlation-id')?.slice(0, 200) ?? randomUUID();
    const outcome = await createExport(pool, outbox, store, params, correlationId, key === undefined ? undefined : { clientId: request.clientId, key, requestHash });
    if (outcome.kind === 'replay') {
      if (outcome.requestHash !== requestHash) return problem(reply, 422, reusedKeyMessage, IDEMPOTENCY_KEY_HEADER);
      reply.header('Idempotent-Replayed', 'true');
    } else {
      logger.info({ exportId: outcome.exportId, kind: params.kind, correlationId }, 'export accepted');
    }
    return reply
      .code(202)
      .header('Location', `/exports/${outcome.exportId}`)
      .header('Retry-After', retryAfter)
      .send({ exportId: outcome.exportId, status: 'QUEUED' });
  });

  app.get<{ Params: { id: string } }>('/exports/:id', async (request, reply) => {
    const task = await findExport(request, request.params.id, reply);
    if (!task) return reply;
    const etag = etagOf(task);
    reply.header('ETag', etag).header('Cache-Control', 'no-cache');
    if (!finishedStates.includes(task.state)) reply.header('Retry-After', retryAfter);
    if (matchesEtag(headerOf(request, 'if-none-match'), etag)) return reply.code(304).send();
    return exportView(task);
  });

  app.get<{ Params: { id: string } }>('/exports/:id/events', async (request, reply) => {
    const task = await findExport(request, request.params.id, reply);
    if (!task) return reply;
    const lastEventId = Number(headerOf(request, 'last-event-id') ?? '');
    let sent = Number.isSafeInteger(lastEventId) ? lastEventId : 0;
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    response.write('retry: 1000\n\n');
    let closed = false;
    let reading: Promise<void> | undefined;
    let again = false;
    // A change or the 1 s look sends the current view when its version is newer than the last sent.
    const push = (): void => {
      if (reading) {
        again = true;
        return;
      }
      reading = (async () => {
        do {
          again = false;
          const current = await store.find(pool, task.id).catch(() => undefined);
          if (closed || !current) continue;
          if (current.version > sent) {
            sent = current.version;
            response.write(`id: ${current.version}\nevent: progress\ndata: ${JSON.stringify(exportView(current))}\n\n`);
          }
          if (finishedStates.includes(current.state)) close();
        } while (again && !closed);
      })().finally(() => (reading = undefined));
    };
    const unfollow = changes.onTask(task.id, push);
    const poll = setInterval(push, 1000);
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), 15_000);
    const close = () => {
      if (closed) return;
      closed = true;
      streams.delete(close);
      unfollow();
      clearInterval(poll);
      clearInterval(keepAlive);
      response.end();
    };
    streams.add(close);
    request.raw.on('close', close);
    push();
  });

  app.get<{ Params: { id: string } }>('/exports/:id/result', async (request, reply) => {
    const task = await findExport(request, request.params.id, reply);
    if (!task) return reply;
    if (task.state !== 'SUCCEEDED') {
      if (!finishedStates.includes(task.state)) reply.header('Retry-After', retryAfter);
      return problem(reply, 409, `export ${task.id} is ${task.state}; its result exists once it SUCCEEDED`, 'status');
    }
    const kind = (task.params as ExportParams).kind;
    return reply
      .header('Content-Type', 'text/csv; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="export-${kind}-${task.id}.csv"`)
      .send(Readable.from(resultLines(pool, task)));
  });

  app.post<{ Params: { id: string } }>('/exports/:id/cancel', async (request, reply) => {
    const task = await findExport(request, request.params.id, reply);
    if (!task) return reply;
    const outcome = await withTransaction(pool, (tx) => store.cancel(tx, task.id, options.onSettled));
    if (outcome.kind === 'cancelled') {
      logger.info({ exportId: task.id, wasRunning: task.state === 'RUNNING' }, 'export cancelled');
      return reply.code(200).send({ exportId: task.id, status: 'CANCELLED' });
    }
    if (outcome.kind === 'finished' && outcome.state === 'CANCELLED') return reply.code(200).send({ exportId: task.id, status: 'CANCELLED' });
    return problem(reply, 409, `export ${task.id} already ended ${outcome.kind === 'finished' ? outcome.state : ''}`.trim(), 'status');
  });

  app.post<{ Params: { id: string } }>('/exports/:id/retry', async (request, reply) => {
    const task = await findExport(request, request.params.id, reply);
    if (!task) return reply;
    const outcome = await store.retry(pool, task.id);
    if (outcome.kind !== 'queued') {
      return problem(reply, 409, `only a FAILED export can be retried; this one is ${outcome.kind === 'not-failed' ? outcome.state : 'gone'}`, 'status');
    }
    logger.info({ exportId: task.id, resumeFrom: task.done }, 'export retried from its checkpoint');
    return reply.code(202).header('Location', `/exports/${task.id}`).header('Retry-After', retryAfter).send({ exportId: task.id, status: 'QUEUED' });
  });
}
