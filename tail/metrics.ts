/** Prometheus metrics (prom-client), one registry per server. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const US_BUCKETS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000];

export function createMetrics(): {
  registry: Registry;
  requests: Counter<'outcome'>;
  latency: Histogram<'stage'>;
  batchSize: Histogram;
  queueDepth: Gauge<'graph'>;
  bytes: Counter<'direction'>;
  connections: Gauge;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'offramp_' });
  return {
    registry,
    requests: new Counter({
      name: 'offramp_requests_total',
      help: 'Requests by outcome (ok or an error code)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
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
    bytes: new Counter({ name: 'offramp_bytes_total', help: 'WebSocket payload bytes', labelNames: ['direction'], registers: [registry] }),
    connections: new Gauge({ name: 'offramp_connections', help: 'Open WebSocket connections', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
