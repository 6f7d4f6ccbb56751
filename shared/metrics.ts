import { Registry, collectDefaultMetrics } from 'prom-client';
import { subscribeMetrics } from './instrumentation/metrics.js';

/** One Prometheus registry per process, served by each service at GET /metrics. */
export const metrics = new Registry();
collectDefaultMetrics({ register: metrics });
// What the runtime, the outbox relay and the batch writer report (the event feed) becomes metrics here.
subscribeMetrics(metrics);
