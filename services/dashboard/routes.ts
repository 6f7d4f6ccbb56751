import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import path from 'node:path';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sendProblem } from '../../shared/http.js';
import type { LagPoller } from './lag-poller.js';
import type { Panels } from './panels.js';

const publicDir = fileURLToPath(new URL('./public/', import.meta.url));
// uPlot's own built files, served as they are: the page has no build step.
const uplotDir = path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

const chartQuery = z.object({ since: z.coerce.number().optional() });

/**
 * The page and the JSON behind every number on it. The CSP allows only this origin's scripts and
 * styles: no inline script, nothing from elsewhere.
 */
export function registerDashboardRoutes(app: FastifyInstance, poller: LagPoller, panels: Panels): void {
  void app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // uPlot sets element styles from script; no inline <style> or style="" in the page itself.
        styleSrc: ["'self'", "'unsafe-inline'"],
        connectSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        // The page is served over plain HTTP locally.
        upgradeInsecureRequests: null,
      },
    },
    // The page is http on a local port: HSTS would pin browsers to https for it.
    strictTransportSecurity: false,
  });
  void app.register(fastifyStatic, { root: publicDir, prefix: '/', index: ['index.html'] });
  void app.register(fastifyStatic, { root: uplotDir, prefix: '/vendor/uplot/', decorateReply: false, allowedPath: (file) => /^\/uPlot\.(iife\.min\.js|min\.css)$/.test(file) });

  app.get('/api/lag', async () => poller.snapshot());
  app.get<{ Params: { group: string } }>('/api/lag/:group', async (request, reply) => {
    const group = poller.snapshot().groups.find((candidate) => candidate.groupId === request.params.group);
    return group ? reply.send(group) : sendProblem(reply, 404, `group ${request.params.group} is not watched`);
  });
  app.get<{ Params: { group: string } }>('/api/lag/:group/chart', async (request, reply) => {
    const query = chartQuery.safeParse(request.query);
    if (!query.success) return sendProblem(reply, 400, 'since: expected epoch milliseconds', 'since');
    const chart = poller.chart(request.params.group, query.data.since);
    return chart ? reply.send(chart) : sendProblem(reply, 404, `no history for group ${request.params.group}`);
  });
  app.get('/api/panels', async () => panels.snapshot());
  app.get('/api/retry', async () => {
    const snapshot = poller.snapshot();
    // Per group and tier: messages waiting (the tier's lag), the oldest one's age and when it is due.
    return snapshot.groups.map((group) => {
      const tiers = new Map<number, { tier: number; waiting: number; oldestAgeMs: number | null; oldestDueAt: string | null; delayMs: number }>();
      for (const partition of group.partitions.filter((p) => p.tier > 0)) {
        const tier = tiers.get(partition.tier) ?? { tier: partition.tier, waiting: 0, oldestAgeMs: null, oldestDueAt: null, delayMs: 0 };
        tier.waiting += partition.lag ?? 0;
        tier.delayMs = partition.delayMs;
        if ((partition.lag ?? 0) > 0 && partition.timeLagMs !== null && (tier.oldestAgeMs === null || partition.timeLagMs > tier.oldestAgeMs)) {
          tier.oldestAgeMs = partition.timeLagMs;
          // The tier's head was written when it failed, and is due its delay later (the jitter only makes it sooner).
          tier.oldestDueAt = new Date(Date.now() - partition.timeLagMs + partition.delayMs).toISOString();
        }
        tiers.set(partition.tier, tier);
      }
      return { groupId: group.groupId, tiers: [...tiers.values()].sort((a, b) => a.tier - b.tier) };
    });
  });
}
