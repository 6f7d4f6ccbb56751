import { randomUUID } from 'node:crypto';
import { topics } from '../../shared/contracts/topics.js';
import { withTransaction, type Pool, type PoolClient } from '../../shared/db.js';
import { IdempotencyKeys, type IdempotencyKeyClaim } from '../../shared/idempotency/idempotency-keys.js';
import type { Outbox } from '../../shared/outbox/outbox.js';
import type { OnSettled, Task, TaskStore } from '../../shared/tasks/store.js';
import type { ExportParams } from './kinds.js';

/** The tasks queue of exports. */
export const EXPORTS_QUEUE = 'exports';

export const resultPath = (id: string) => `/exports/${id}/result`;

/** The exports API's Idempotency-Keys (per client, 24 h). */
export const exportIdempotencyKeys = new IdempotencyKeys({ table: 'export_idempotency_keys', resourceColumn: 'export_id' });

export type CreateOutcome = { kind: 'created'; exportId: string } | { kind: 'replay'; exportId: string; requestHash: string };

/**
 * Accepts an export: the task, its export.requested event and the Idempotency-Key (when given)
 * commit together. A key already taken answers the export it created instead.
 */
export async function createExport(
  pool: Pool,
  outbox: Outbox,
  store: TaskStore,
  params: ExportParams,
  correlationId: string,
  idempotency: IdempotencyKeyClaim | undefined,
): Promise<CreateOutcome> {
  const exportId = randomUUID();
  return withTransaction(pool, async (tx) => {
    if (idempotency) {
      const claim = await exportIdempotencyKeys.claim(tx, idempotency, exportId);
      if (claim.kind === 'taken') return { kind: 'replay', exportId: claim.resourceId, requestHash: claim.requestHash };
    }
    await store.create(tx, { id: exportId, queue: EXPORTS_QUEUE, params });
    const eventId = randomUUID();
    await outbox.append(tx, [
      {
        topic: topics.exportRequested,
        key: exportId,
        eventId,
        correlationId,
        value: {
          eventId,
          exportId,
          kind: params.kind,
          format: params.format,
          from: Date.parse(params.from),
          to: Date.parse(params.to),
          callbackUrl: params.callbackUrl,
          requestedAt: Date.now(),
        },
      },
    ]);
    return { kind: 'created', exportId };
  });
}

/** export.completed, appended in the transaction that ends the export (by its worker, or a cancel). */
export function completionEvent(outbox: Outbox): OnSettled {
  return async (tx: PoolClient, task: Task) => {
    const params = task.params as ExportParams;
    const eventId = randomUUID();
    const status = task.state === 'SUCCEEDED' || task.state === 'FAILED' || task.state === 'CANCELLED' ? task.state : undefined;
    if (!status) return;
    await outbox.append(tx, [
      {
        topic: topics.exportCompleted,
        key: task.id,
        eventId,
        value: {
          eventId,
          exportId: task.id,
          kind: params.kind,
          status,
          rows: task.done,
          resultUrl: status === 'SUCCEEDED' ? resultPath(task.id) : null,
          callbackUrl: params.callbackUrl,
          error: task.error,
          completedAt: Date.now(),
          clientId: params.clientId ?? null,
        },
      },
    ]);
  };
}
