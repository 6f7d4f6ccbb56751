/** Request-reply over Kafka: a requester, a replier, their header codec and the late-reply store. */
export { CoalescingSender } from './coalescing-sender.js';
export { ReplyConsumerNotReadyError, ReplyError, RequestReplyOverloadedError } from './errors.js';
export * from './headers.js';
export { PendingRequests, type PendingRequestsOptions, type ReplyMatch, type Settlement } from './pending-requests.js';
export { NotARequestError, Replier, pruneAnswers, type ReplierObserver, type ReplierOptions } from './replier.js';
export type { Outcome, Reply } from './reply.js';
export { Requester, type RequestOptions, type RequesterObserver, type RequesterOptions } from './requester.js';
export { ResultStore, requestReplySql, type StoredResult } from './result-store.js';
export { replierMetrics, requesterMetrics } from './metrics.js';
