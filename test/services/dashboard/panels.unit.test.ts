import { describe, expect, it } from 'vitest';
import { topology } from '../../../shared/contracts/topics.js';
import { parseMetrics } from '../../../services/dashboard/panels.js';
import { roleOf, watchedGroups } from '../../../services/dashboard/watched-groups.js';

describe('watched groups', () => {
  const groups = watchedGroups(topology, ['adhoc-1', 'email-service']);

  it('knows each declared group’s tiers with their delays, and its DLQs', () => {
    const email = groups.find((g) => g.groupId === 'email-service')!;
    expect(roleOf(email, 'order.created')).toEqual({ source: 'order.created', tier: 0, delayMs: 0 });
    // Default policy: 1 s doubling, at most 60 s.
    expect(roleOf(email, 'order.created.email-service.retry.3')).toEqual({ source: 'order.created', tier: 3, delayMs: 4000 });
    expect(roleOf(email, 'order.created.email-service.retry.6')).toEqual({ source: 'order.created', tier: 6, delayMs: 32_000 });
    expect(email.dlqs.get('order.created')).toBe('order.created.email-service.dlq');
  });

  it('adds extra groups once, reading their tiers from the topic name (delay unknown: 0)', () => {
    expect(groups.filter((g) => g.groupId === 'email-service')).toHaveLength(1);
    const adhoc = groups.find((g) => g.groupId === 'adhoc-1')!;
    expect(adhoc.declared).toBe(false);
    expect(roleOf(adhoc, 'order.created.adhoc-1.retry.2')).toEqual({ source: 'order.created', tier: 2, delayMs: 0 });
    expect(roleOf(adhoc, 'order.created')).toEqual({ source: 'order.created', tier: 0, delayMs: 0 });
  });
});

describe('batch-ingestion metrics', () => {
  it('reads samples with labels from the Prometheus text format', () => {
    const text = [
      '# HELP batch_ingestion_rows_written_total Rows inserted',
      '# TYPE batch_ingestion_rows_written_total counter',
      'batch_ingestion_rows_written_total 20000',
      'batch_ingestion_rows_rejected_total{outcome="dead_lettered"} 2',
      'batch_ingestion_flush_seconds_bucket{le="0.05"} 7',
      'batch_ingestion_flush_seconds_bucket{le="+Inf"} 9',
    ].join('\n');
    expect(parseMetrics(text)).toEqual([
      { name: 'batch_ingestion_rows_written_total', labels: {}, value: 20000 },
      { name: 'batch_ingestion_rows_rejected_total', labels: { outcome: 'dead_lettered' }, value: 2 },
      { name: 'batch_ingestion_flush_seconds_bucket', labels: { le: '0.05' }, value: 7 },
      { name: 'batch_ingestion_flush_seconds_bucket', labels: { le: '+Inf' }, value: 9 },
    ]);
  });
});
