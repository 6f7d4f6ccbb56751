import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Pool } from '../../shared/db.js';
import { jobStates, type ScheduledJobs } from '../../shared/scheduler/jobs.js';

const query = z.object({
  state: z.enum(jobStates).optional(),
  type: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** GET /schedules: pending jobs per type (upcoming, overdue, oldest due) and the jobs asked for, oldest due first. */
export function registerScheduleRoutes(app: FastifyInstance, pool: Pool, jobs: ScheduledJobs): void {
  app.get('/schedules', async (request, reply) => {
    const parsed = query.safeParse(request.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return reply.code(400).send({ field: issue.path.join('.'), message: issue.message });
    }
    const [summary, list] = await Promise.all([jobs.summary(pool), jobs.list(pool, parsed.data)]);
    return { summary, jobs: list };
  });
}
