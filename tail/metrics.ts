/** Prometheus metrics (prom-client), one registry per server. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const US_BUCKETS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000];

/**
 * A counter with one label whose hot path is a plain addition: counts gather per label value and
 * reach prom-client's counter when the registry is read (its `collect` hook), so a request pays no
 * label validation or hashing (prom-client's `inc` did both, three times per request).
 */
export interface Tally {
  add(value: string, n?: number): void;
}

function tally(registry: Registry, name: string, help: string, label: string): Tally {
  const pending = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [value, n] of pending) this.inc({ [label]: value }, n);
      pending.clear();
    },
  });
  return {
    add(value, n = 1) {
      pending.set(value, (pending.get(value) ?? 0) + n);
    },
  };
}

/**
 * A histogram with one label for the request path: an observation finds its bucket and adds to
 * arrays made once per label value. prom-client's `observe` validated and hashed the labels and
 * allocated ~250 B per call — four calls per answer, 14% of what the edge allocated per answer (a
 * sampling heap profile at 256 clients). The registry reads it through prom-client's own metric
 * shape (`get()`), so /metrics prints it as it printed prom-client's histogram.
 */
export interface LabelledHistogram {
  observe(value: string, x: number): void;
}

function labelledHistogram(registry: Registry, name: string, help: string, label: string, buckets: readonly number[]): LabelledHistogram {
  const series = new Map<string, { counts: Float64Array; sum: number }>();
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      for (const [v, s] of series) {
        let cumulative = 0;
        buckets.forEach((le, i) => {
          cumulative += s.counts[i]!;
          values.push({ labels: { le, [label]: v }, value: cumulative, metricName: `${name}_bucket` });
        });
        cumulative += s.counts[buckets.length]!;
        values.push({ labels: { le: '+Inf', [label]: v }, value: cumulative, metricName: `${name}_bucket` });
        values.push({ labels: { [label]: v }, value: s.sum, metricName: `${name}_sum` });
        values.push({ labels: { [label]: v }, value: cumulative, metricName: `${name}_count` });
      }
      return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
    },
    reset: () => series.clear(),
  };
  registry.registerMetric(metric as unknown as Histogram);
  return {
    observe(value, x) {
      let s = series.get(value);
      if (!s) series.set(value, (s = { counts: new Float64Array(buckets.length + 1), sum: 0 }));
      let i = 0;
      while (i < buckets.length && x > buckets[i]!) i++;
      s.counts[i]!++;
      s.sum += x;
    },
  };
}

export function createMetrics(): {
  registry: Registry;
  requests: Tally;
  latency: LabelledHistogram;
  batchSize: Histogram;
  /** Where the queue-depth gauge reads each graph's queued requests when /metrics is read. */
  readQueueDepths(source: () => Iterable<[string, number]>): void;
  bytes: Tally;
  connections: Gauge;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'offramp_' });
  // Read when scraped, not set per request.
  let depths: () => Iterable<[string, number]> = () => [];
  new Gauge({
    name: 'offramp_queue_depth',
    help: 'Queued requests per model graph',
    labelNames: ['graph'],
    registers: [registry],
    collect() {
      for (const [graph, n] of depths()) this.set({ graph }, n);
    },
  });
  return {
    registry,
    requests: tally(registry, 'offramp_requests_total', 'Requests by outcome (ok or an error code)', 'outcome'),
    latency: labelledHistogram(registry, 'offramp_request_duration_us', 'Server-side request time by stage, microseconds', 'stage', US_BUCKETS),
    batchSize: new Histogram({
      name: 'offramp_batch_size',
      help: 'Requests per executed batch',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    readQueueDepths(source) {
      depths = source;
    },
    bytes: tally(registry, 'offramp_bytes_total', 'WebSocket payload bytes', 'direction'),
    connections: new Gauge({ name: 'offramp_connections', help: 'Open WebSocket connections', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
