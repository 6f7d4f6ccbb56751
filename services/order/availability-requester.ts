import type { AvailabilityReply, AvailabilityRequest } from '../../shared/contracts/schemas.js';
import { replyGroupPrefixes, topics } from '../../shared/contracts/topics.js';
import type { ServiceParts } from '../../shared/kit/service-parts.js';
import { metrics } from '../../shared/metrics.js';
import { Requester, ResultStore, requesterMetrics } from '../../shared/request-reply/index.js';
import type { OrderServiceConfig } from './config.js';

/**
 * The order API's requester of the inventory group: its reply consumer starts in the background
 * (the first request waits for its assignment), stops on shutdown, and late replies go to
 * request_reply_results, pruned hourly.
 */
export function startAvailabilityRequester(parts: ServiceParts<OrderServiceConfig>) {
  const { config, kafka, serde, logger, pool, shutdown } = parts;
  const results = new ResultStore<AvailabilityReply>(pool);
  const requester = new Requester<AvailabilityRequest, AvailabilityReply>({
    client: kafka,
    serde,
    logger,
    requestTopic: topics.availabilityRequests,
    replyTopic: topics.availabilityReplies,
    replyGroupPrefix: replyGroupPrefixes.orderApi,
    results,
    timeoutMs: config.requestTimeoutMs,
    deadlineMs: config.requestDeadlineMs,
    maxInFlight: config.requestMaxInFlight,
    observer: requesterMetrics(metrics),
  });
  shutdown.add('requester', () => requester.stop(), 3000);
  void requester.start();
  const prune = setInterval(() => void results.prune().catch(() => undefined), 3600_000);
  prune.unref();
  return { requester, results };
}
