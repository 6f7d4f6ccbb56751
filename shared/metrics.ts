import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per process, served by each service at GET /metrics. */
export const metrics = new Registry();
collectDefaultMetrics({ register: metrics });

export const consumedMessages = new Counter({
  name: 'pipeline_consumed_messages_total',
  help: 'Messages read by the consumer runtime, by outcome (processed, retried, parked, dead_lettered, poison)',
  labelNames: ['group', 'topic', 'outcome'] as const,
  registers: [metrics],
});

export const handlerSeconds = new Histogram({
  name: 'pipeline_handler_seconds',
  help: 'Time spent in event handlers',
  labelNames: ['group', 'topic'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  registers: [metrics],
});
