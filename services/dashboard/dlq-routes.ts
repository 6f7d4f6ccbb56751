import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { adminApi } from '../../shared/clients/admin-api.js';
import {
  DlqRefusedError,
  DlqSelectionError,
  listDlqs,
  replay,
  resolveTargets,
  showMessages,
  type DlqContext,
  type DlqSummary,
  type InspectedMessage,
  type MessageFilter,
  type ReplayResult,
} from '../../shared/dlq/index.js';
import { sendProblem } from '../../shared/http.js';
import type { Topology } from '../../shared/kafka/topology.js';

/** The DLQ summaries scan every DLQ: at most one scan in flight, its result kept this long for every viewer. */
const summaryTtlMs = 30_000;
/** A browse with a time filter reads at most this many matches, then filters by time. */
const timeFilteredScanLimit = 1000;

const browseQuery = z.object({
  group: z.string().min(1),
  topic: z.string().min(1).optional(),
  errorCode: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  partition: z.coerce.number().int().min(0).optional(),
  /** ISO times, on the DLQ timestamp (when it was dead-lettered). */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const replayBody = z.object({
  group: z.string().min(1),
  topic: z.string().min(1).optional(),
  /**
   * One or a selection, by DLQ topic, partition and offset; absent with `all`. The library selects by
   * offset ranges, so each message is its own replay (its own read of the DLQ): at most 50 a request.
   */
  messages: z.array(z.object({ topic: z.string().min(1), partition: z.number().int().min(0), offset: z.string().regex(/^\d+$/) })).min(1).max(50).optional(),
  all: z.boolean().default(false),
  errorCode: z.string().min(1).optional(),
  dryRun: z.boolean().default(true),
  /** Bulk replays (all, or more than one message) need the group id typed again. */
  confirm: z.string().optional(),
  force: z.boolean().default(false),
});

function badRequest(reply: FastifyReply, error: z.ZodError): FastifyReply {
  const issue = error.issues[0]!;
  return sendProblem(reply, 400, `${issue.path.join('.') || 'request'}: ${issue.message}`, issue.path.join('.') || undefined);
}

function mergeResults(results: ReplayResult[], dryRun: boolean): ReplayResult {
  return {
    dryRun,
    plans: results.flatMap((result) => result.plans),
    sent: results.reduce((sum, result) => sum + result.sent, 0),
    refused: results.reduce((sum, result) => sum + result.refused, 0),
    replayedBefore: results.reduce((sum, result) => sum + result.replayedBefore, 0),
  };
}

/**
 * Dead letters over HTTP, through the same library as `npm run dlq` (shared/dlq): summaries and
 * browsing for anyone who can reach the page, replay only with the admin token. A replay goes to the
 * group's own first retry tier, with the library's loop guards, and leaves an operation-log row.
 */
export function registerDlqRoutes(
  app: FastifyInstance,
  context: DlqContext,
  topology: Topology,
  options: { adminToken: string | undefined; extraGroups: readonly string[] },
): void {
  const declared = new Set(Object.values(topology.groups).map((group) => group.groupId));
  // An extra (ad-hoc) group's DLQ is named by its group id and a declared source topic, as `npm run dlq -- --group-id` does.
  const targetsOf = (group: string, topic: string | undefined) => {
    if (!declared.has(group) && options.extraGroups.includes(group)) return resolveTargets(topology, { groupId: group, ...(topic ? { topic } : {}) });
    return resolveTargets(topology, { groups: [group], ...(topic ? { topic } : {}) });
  };
  let summaries: { at: number; value: Promise<DlqSummary[]> } | undefined;

  app.get('/api/dlq/summary', async (_request, reply) => {
    if (!summaries || Date.now() - summaries.at > summaryTtlMs) {
      const value = listDlqs(context, resolveTargets(topology));
      summaries = { at: Date.now(), value };
      value.catch(() => (summaries = undefined));
    }
    return reply.send({ summaries: await summaries.value, at: new Date(summaries.at).toISOString() });
  });

  app.get('/api/dlq/messages', async (request, reply) => {
    const parsed = browseQuery.safeParse(request.query);
    if (!parsed.success) return badRequest(reply, parsed.error);
    const query = parsed.data;
    try {
      const targets = targetsOf(query.group, query.topic);
      const filter: MessageFilter = {
        ...(query.errorCode ? { errorCode: query.errorCode } : {}),
        ...(query.key ? { key: query.key } : {}),
        ...(query.partition !== undefined ? { partition: query.partition } : {}),
      };
      const timed = query.from !== undefined || query.to !== undefined;
      const result = await showMessages(context, targets, { filter, limit: timed ? timeFilteredScanLimit : query.limit });
      const from = query.from ? Date.parse(query.from) : -Infinity;
      const to = query.to ? Date.parse(query.to) : Infinity;
      const inRange = (message: InspectedMessage) => {
        const at = Date.parse(message.dlqTimestamp);
        return at >= from && at <= to;
      };
      const messages = timed ? result.messages.filter(inRange) : result.messages;
      return reply.send({ matched: timed ? messages.length : result.matched, messages: messages.slice(0, query.limit) });
    } catch (error) {
      if (error instanceof DlqSelectionError) return sendProblem(reply, 400, error.message);
      throw error;
    }
  });

  adminApi(app, { adminToken: options.adminToken }, (scope) => {
    scope.post('/api/dlq/replay', async (request, reply) => {
      const parsed = replayBody.safeParse(request.body);
      if (!parsed.success) return badRequest(reply, parsed.error);
      const body = parsed.data;
      if (body.all === (body.messages !== undefined)) return sendProblem(reply, 400, 'give either messages or all: true', 'messages');
      const bulk = body.all || (body.messages?.length ?? 0) > 1;
      if (bulk && !body.dryRun && body.confirm !== body.group) {
        return sendProblem(reply, 400, `a bulk replay needs the group typed as confirmation: "confirm": "${body.group}"`, 'confirm');
      }
      const actor = `dashboard@${request.ip}`;
      try {
        const targets = targetsOf(body.group, body.topic);
        const options = { actor, dryRun: body.dryRun, force: body.force };
        if (body.all) {
          const filter: MessageFilter = body.errorCode ? { errorCode: body.errorCode } : {};
          return reply.send(await replay(context, targets, { ...options, filter }));
        }
        const results: ReplayResult[] = [];
        for (const message of body.messages ?? []) {
          const target = targets.filter((candidate) => candidate.dlqTopic === message.topic);
          if (target.length === 0) return sendProblem(reply, 400, `${message.topic} is not a DLQ of ${body.group}`, 'messages');
          const offset = BigInt(message.offset);
          results.push(await replay(context, target, { ...options, filter: { partition: message.partition, fromOffset: offset, toOffset: offset } }));
        }
        return reply.send(mergeResults(results, body.dryRun));
      } catch (error) {
        if (error instanceof DlqSelectionError || error instanceof DlqRefusedError) return sendProblem(reply, 400, error.message);
        throw error;
      }
    });
  });
}
