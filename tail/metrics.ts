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

export function createMetrics(): {
  registry: Registry;
  requests: Tally;
  latency: Histogram<'stage'>;
  batchSize: Histogram;
  queueDepth: Gauge<'graph'>;
  bytes: Tally;
  connections: Gauge;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'offramp_' });
  return {
    registry,
    requests: tally(registry, 'offramp_requests_total', 'Requests by outcome (ok or an error code)', 'outcome'),
    latency: new Histogram({
      name: 'offramp_request_duration_us',
      help: 'Server-side request time by stage, microseconds',
      labelNames: ['stage'],
      buckets: US_BUCKETS,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'offramp_batch_size',
      help: 'Requests per executed batch',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'offramp_queue_depth', help: 'Queued requests per model graph', labelNames: ['graph'], registers: [registry] }),
    bytes: tally(registry, 'offramp_bytes_total', 'WebSocket payload bytes', 'direction'),
    connections: new Gauge({ name: 'offramp_connections', help: 'Open WebSocket connections', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
