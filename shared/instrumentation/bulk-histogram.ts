import type { Metric, Registry } from 'prom-client';

interface Series {
  labels: Readonly<Record<string, string>>;
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram for observations that arrive in bulk (the runtime reports a batch's handler
 * times at once). prom-client's Histogram validates and hashes its labels on every observe(), which
 * for a fast handler costs more than the handler; here a label set is looked up once per batch and
 * each observation is a bucket search. The exposition is the same as prom-client's histogram
 * (`_bucket` with `le` first, `+Inf`, `_sum`, `_count`).
 */
export class BulkHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // Registry accepts any object with prom-client's metric shape (name, help, type, get, reset).
    registry.registerMetric(this as unknown as Metric);
  }

  /** Adds the observations of one label set (label values in labelNames order). */
  observeAll(labelValues: readonly string[], values: readonly number[]): void {
    const key = labelValues.join('\u0000');
    let series = this.series.get(key);
    if (!series) {
      const labels = Object.fromEntries(this.labelNames.map((name, i) => [name, labelValues[i] ?? '']));
      this.series.set(key, (series = { labels, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 }));
    }
    const { bounds } = this;
    const { counts } = series;
    for (const value of values) {
      let i = 0;
      while (i < bounds.length && value > bounds[i]!) i++;
      counts[i]!++;
      series.sum += value;
    }
    series.count += values.length;
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const series of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.counts[i]!;
        values.push({ labels: { le: bound, ...series.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...series.labels }, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...series.labels }, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}
