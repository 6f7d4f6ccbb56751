import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BulkHistogram } from '../../../shared/instrumentation/bulk-histogram.js';

describe('bulk histogram', () => {
  it("exposes exactly what prom-client's histogram exposes for the same observations", async () => {
    const buckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
    const values = [0, 0.0005, 0.001, 0.003, 0.2, 1, 7, 0.05];
    const ours = new Registry();
    const theirs = new Registry();
    const bulk = new BulkHistogram('h_seconds', 'help text', ['group', 'topic'], buckets, ours);
    const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['group', 'topic'], buckets, registers: [theirs] });
    bulk.observeAll(['g', 't'], values.slice(0, 3));
    bulk.observeAll(['g', 't'], values.slice(3));
    bulk.observeAll(['g', 'u'], [0.02]);
    for (const value of values) reference.labels('g', 't').observe(value);
    reference.labels('g', 'u').observe(0.02);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    bulk.reset();
    reference.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
