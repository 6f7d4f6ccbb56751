import type { InboundEvent } from '../../shared/consumer/types.js';
import type { AvailabilityReply, AvailabilityRequest } from '../../shared/contracts/schemas.js';
import { consumerGroups, topics } from '../../shared/contracts/topics.js';
import type { Pool } from '../../shared/db.js';
import { PermanentError } from '../../shared/errors.js';
import { startExtraConsumer } from '../../shared/kit/extra-consumer.js';
import type { ServiceParts } from '../../shared/kit/service-parts.js';
import type { KitConfig } from '../../shared/kit/variables.js';
import { instanceId } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import { Replier, ReplyError, pruneAnswers, replierMetrics } from '../../shared/request-reply/index.js';
import { normalise } from './stock.js';

/** Stock levels of the requested SKUs, summed per SKU; an unknown SKU or a bad quantity is a 422 error reply. */
export async function answerAvailability(pool: Pool, request: InboundEvent<AvailabilityRequest>): Promise<AvailabilityReply> {
  let lines;
  try {
    lines = normalise(request.value.items);
  } catch (error) {
    if (error instanceof PermanentError) throw new ReplyError('INVALID_QUANTITY', 422, error.message);
    throw error;
  }
  if (lines.length === 0) throw new ReplyError('NO_ITEMS', 422, 'the request names no SKU');
  const { rows } = await pool.query<{ sku: string; available: number }>('SELECT sku, available FROM stock WHERE sku = ANY($1::text[])', [
    lines.map((line) => line.sku),
  ]);
  const available = new Map(rows.map((row) => [row.sku, row.available]));
  const unknown = lines.filter((line) => !available.has(line.sku)).map((line) => line.sku);
  if (unknown.length > 0) throw new ReplyError('UNKNOWN_SKU', 422, `unknown SKU(s) ${unknown.join(', ')}`);
  return {
    items: lines.map((line) => {
      const stock = available.get(line.sku)!;
      return { sku: line.sku, requested: line.quantity, available: stock, ok: stock >= line.quantity };
    }),
    repliedBy: instanceId,
    repliedAt: Date.now(),
  };
}

/**
 * The inventory's replier (group inventory-availability) beside its saga group: answers
 * availability requests on the reply topic, once per correlation id (request_reply_answers).
 */
export function startAvailabilityReplier<C extends KitConfig>(parts: ServiceParts<C>): void {
  const { pool, kafka, serde, shutdown } = parts;
  const group = consumerGroups.inventoryAvailability;
  const publisher = kafka.publisher();
  const replier = new Replier({
    publisher,
    serde,
    requestTopic: topics.availabilityRequests,
    replyTopic: topics.availabilityReplies,
    answers: { pool, group: group.groupId },
    answer: (request) => answerAvailability(pool, request),
    observer: replierMetrics(metrics),
  });
  // Closed after the consumer (registered first, closed last): the consumer's last replies still go out.
  shutdown.add('replier publisher', () => publisher.disconnect(), 2000);
  void publisher.connect();
  const prune = setInterval(() => void pruneAnswers(pool).catch(() => undefined), 3600_000);
  prune.unref();
  startExtraConsumer(parts, group, (runtime) => runtime.on(topics.availabilityRequests, replier.handle), {
    // Answers are wanted in milliseconds: every partition at once.
    tuning: { partitionsConsumedConcurrently: topics.availabilityRequests.partitions, handlerTimeoutMs: 10_000 },
  });
}
