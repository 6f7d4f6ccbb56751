import { randomUUID } from 'node:crypto';
import { topics } from '../../shared/contracts/topics.js';
import { withTransaction, type Pool, type PoolClient } from '../../shared/db.js';
import type { Outbox } from '../../shared/outbox/outbox.js';
import type { OnSettled, Task, TaskStore } from '../../shared/tasks/store.js';
import type { ExportParams } from './kinds.js';

/** The tasks queue of exports. */
export const EXPORTS_QUEUE = 'exports';

export const resultPath = (id: string) => `/exports/${id}/result`;

export interface IdempotencyClaim {
  clientId: string;
  key: string;
  requestHash: string;
}

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
  idempotency: IdempotencyClaim | undefined,
): Promise<CreateOutcome> {
  const exportId = randomUUID();
  return withTransaction(pool, async (tx) => {
    if (idempotency) {
      const { rows } = await tx.query<{ export_id: string; request_hash: string; inserted: boolean }>(
        // A key older than 24 h is taken over by the new request, as if it had been pruned already.
        `INSERT INTO export_idempotency_keys (client_id, idempotency_key, request_hash, export_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (client_id, idempotency_key) DO UPDATE SET
           request_hash = CASE WHEN export_idempotency_keys.created_at <= now() - interval '24 hours' THEN EXCLUDED.request_hash ELSE export_idempotency_keys.request_hash END,
           export_id = CASE WHEN export_idempotency_keys.created_at <= now() - interval '24 hours' THEN EXCLUDED.export_id ELSE export_idempotency_keys.export_id END,
           created_at = CASE WHEN export_idempotency_keys.created_at <= now() - interval '24 hours' THEN now() ELSE export_idempotency_keys.created_at END
         RETURNING export_id, request_hash, (xmax = 0 OR export_id = $4) AS inserted`,
        [idempotency.clientId, idempotency.key, idempotency.requestHash, exportId],
      );
      const row = rows[0]!;
      if (!row.inserted) return { kind: 'replay', exportId: row.export_id, requestHash: row.request_hash };
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
