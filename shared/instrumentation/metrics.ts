/**
 * Prometheus metrics as one subscriber of the event feed (events.ts). Each family is registered on
 * the first event of its kind, so a process shows the metrics of what it runs (the order API has no
 * batch writer). Names and labels are the ones the services exposed before the feed existed.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BulkHistogram } from './bulk-histogram.js';
import { feed, type ConsumerFailure } from './events.js';

type Outcome = 'processed' | 'retried' | 'parked' | 'dead_lettered' | 'poison';

/** Subscribes the registry's metrics to the feed; returns the function that unsubscribes them. */
export function subscribeMetrics(registry: Registry): () => void {
  const lazily = <T>(create: () => T): (() => T) => {
    let made: T | undefined;
    return () => (made ??= create());
  };

  const consumer = lazily(() => ({
    consumed: new Counter({
      name: 'pipeline_consumed_messages_total',
      help: 'Messages read by the consumer runtime, by outcome (processed, retried, parked, dead_lettered, poison)',
      labelNames: ['group', 'topic', 'outcome'] as const,
      registers: [registry],
    }),
    // A batch's handler times arrive together: observed in bulk (prom-client hashes labels per observe).
    handler: new BulkHistogram('pipeline_handler_seconds', 'Time spent in event handlers', ['group', 'topic'], [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registry),
  }));
  // Label children are looked up once per label set: label hashing per report adds up.
  const counters = new Map<string, Counter.Internal>();
  const count = (group: string, topic: string, outcome: Outcome, n: number) => {
    const key = `${group}\u0000${topic}\u0000${outcome}`;
    let counter = counters.get(key);
    if (!counter) counters.set(key, (counter = consumer().consumed.labels(group, topic, outcome)));
    counter.inc(n);
  };
  const failed = (outcome: Outcome) => (report: ConsumerFailure) => count(report.group, report.topic, outcome, 1);

  const duplicates = lazily(
    () =>
      new Counter({
        name: 'pipeline_duplicate_events_total',
        help: 'Redelivered events a consumer group had handled before, skipped without an effect',
        labelNames: ['group'] as const,
        registers: [registry],
      }),
  );

  const keyHeadsReleased = lazily(
    () =>
      new Counter({
        name: 'pipeline_key_heads_released_total',
        help: 'Ordered-retry queue entries released because their message never came back (lost); alert on any increase',
        labelNames: ['group'] as const,
        registers: [registry],
      }),
  );
  const dependency = lazily(() => ({
    paused: new Gauge({
      name: 'pipeline_consumer_dependency_paused_partitions',
      help: 'Partitions paused because a dependency (database, mail server) is unavailable; their messages are tried again with backoff',
      labelNames: ['group'] as const,
      registers: [registry],
    }),
    pauses: new Counter({
      name: 'pipeline_consumer_dependency_pauses_total',
      help: 'Times a partition was paused for an unavailable dependency (one per failed try of the held message)',
      labelNames: ['group'] as const,
      registers: [registry],
    }),
  }));

  const outbox = lazily(() => ({
    published: new Counter({ name: 'pipeline_outbox_published_total', help: 'Outbox rows published to Kafka', labelNames: ['table'] as const, registers: [registry] }),
    relayFailures: new Counter({
      name: 'pipeline_outbox_relay_failures_total',
      help: 'Relay rounds that failed (broker or database unavailable) and will be retried',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    unsent: new Gauge({
      name: 'pipeline_outbox_unsent_rows',
      help: 'Outbox rows committed but not yet published (grows while Kafka is away)',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    oldestUnsent: new Gauge({
      name: 'pipeline_outbox_oldest_unsent_seconds',
      help: 'Age of the oldest unpublished outbox row; 0 without one',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    consecutiveFailures: new Gauge({
      name: 'pipeline_outbox_relay_consecutive_failures',
      help: 'Relay rounds failed since the last that succeeded: a relay that cannot publish',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    unpublishable: new Counter({
      name: 'pipeline_outbox_unpublishable_total',
      help: 'Outbox rows set aside because their value can never be encoded',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
  }));

  const batch = lazily(() => ({
    // rate(batch_ingestion_rows_written_total[1m]) is the ingest rate in rows/s.
    rowsWritten: new Counter({ name: 'batch_ingestion_rows_written_total', help: 'Rows inserted into the analytics store', registers: [registry] }),
    rowsDuplicate: new Counter({
      name: 'batch_ingestion_rows_duplicate_total',
      help: 'Replayed rows that were stored already and so were skipped (idempotent writes)',
      registers: [registry],
    }),
    rowsRejected: new Counter({
      name: 'batch_ingestion_rows_rejected_total',
      help: 'Rows the store rejected for their values, by where they went next (retried, dead_lettered)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    flushRows: new Histogram({
      name: 'batch_ingestion_flush_rows',
      help: 'Rows per flushed batch',
      buckets: [1, 10, 100, 500, 1000, 5000, 10_000, 25_000, 50_000, 100_000],
      registers: [registry],
    }),
    flushes: new Counter({
      name: 'batch_ingestion_flushes_total',
      help: 'Flushed batches by what made them flush (rows, bytes: full; wait: the oldest row waited BATCH_MAX_WAIT_MS; idle: the fetch was all in)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    flushBytes: new Histogram({
      name: 'batch_ingestion_flush_bytes',
      help: 'COPY bytes per flushed batch',
      buckets: [1e3, 1e4, 1e5, 1e6, 4e6, 16e6, 64e6],
      registers: [registry],
    }),
    flushSeconds: new Histogram({
      name: 'batch_ingestion_flush_seconds',
      help: 'From the start of a flush to its commit, outage waits included',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    backpressureSeconds: new Counter({
      name: 'batch_ingestion_backpressure_seconds_total',
      help: 'Time consumption was paused because the analytics store was unavailable',
      registers: [registry],
    }),
    paused: new Gauge({ name: 'batch_ingestion_paused', help: '1 while consumption waits for the analytics store', registers: [registry] }),
  }));

  const unsubscribes = [
    feed.consumerProcessed.subscribe((report) => {
      count(report.group, report.topic, 'processed', report.count);
      if (report.handlerSeconds.length > 0) consumer().handler.observeAll([report.group, report.topic], report.handlerSeconds);
    }),
    feed.consumerRetried.subscribe(failed('retried')),
    feed.consumerParked.subscribe(failed('parked')),
    feed.consumerDeadLettered.subscribe(failed('dead_lettered')),
    feed.consumerPoison.subscribe(failed('poison')),
    feed.consumerDuplicate.subscribe((report) => duplicates().inc({ group: report.group })),
    feed.consumerKeyHeadReleased.subscribe((report) => keyHeadsReleased().inc({ group: report.group })),
    feed.consumerDependencyWait.subscribe((report) => {
      const m = dependency();
      m.paused.set({ group: report.group }, report.pausedPartitions);
      if (report.paused) m.pauses.inc({ group: report.group });
    }),
    feed.outboxPublished.subscribe((report) => outbox().published.inc({ table: report.table }, report.count)),
    feed.outboxRelayFailed.subscribe((report) => outbox().relayFailures.inc({ table: report.table })),
    feed.outboxBacklog.subscribe((report) => {
      const labels = { table: report.table };
      outbox().consecutiveFailures.set(labels, report.consecutiveFailures);
      if (report.unsent !== undefined) outbox().unsent.set(labels, report.unsent);
      if (report.oldestUnsentSeconds !== undefined) outbox().oldestUnsent.set(labels, report.oldestUnsentSeconds);
    }),
    feed.outboxUnpublishable.subscribe((report) => outbox().unpublishable.inc({ table: report.table })),
    feed.batchFlushed.subscribe((report) => {
      const m = batch();
      m.rowsWritten.inc(report.inserted);
      m.rowsDuplicate.inc(report.duplicates);
      m.flushes.inc({ reason: report.reason });
      m.flushRows.observe(report.rows);
      m.flushBytes.observe(report.bytes);
      m.flushSeconds.observe(report.seconds);
    }),
    feed.batchRejected.subscribe((report) => batch().rowsRejected.inc({ outcome: report.outcome })),
    feed.batchStalled.subscribe((report) => {
      const m = batch();
      if (report.seconds > 0) m.backpressureSeconds.inc(report.seconds);
      m.paused.set(report.stalled ? 1 : 0);
    }),
  ];
  return () => unsubscribes.forEach((unsubscribe) => unsubscribe());
}
