/**
 * The inference side of an edge: the served bundles, the frame limits they imply, the codecs, the
 * metrics, the worker pool and the batcher in front of it.
 */
import { loadZstd } from '../bottleneck/zstd-native.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import { resolveFrameLimits } from '../protocol/frame.js';
import type { FrameLimits } from '../protocol/limits.js';
import { importOptional } from '../protocol/optional.js';
import { createMetrics, type Metrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { WorkerPool } from './pool.js';
import { loadRegistry, product, workerGraphs, type ServedBundle } from './registry.js';
import { Scheduler } from './scheduler.js';

/** What `startInference` started. */
export interface Inference {
  registry: Map<string, ServedBundle>;
  limits: FrameLimits;
  zstd: ZstdBackend;
  metrics: Metrics;
  pool: WorkerPool;
  scheduler: Scheduler;
}

/** Loads and verifies every bundle under `opts.models`, starts the workers and a batcher queue per graph (tail and full of each bundle). */
export async function startInference(opts: ResolvedOptions): Promise<Inference> {
  const log = opts.logger;
  // The workers run onnxruntime-node: say so now, not as a worker crash.
  await importOptional('onnxruntime-node', 'the edge server (offramp/tail)', () => import('onnxruntime-node'));
  const registry = await loadRegistry(opts.models);
  const largest = opts.maxFrameBytes ?? Math.max(...[...registry.values()].map((s) => s.maxFrameBytes));
  const limits = resolveFrameLimits({ maxFrameBytes: largest });
  const zstd = await loadZstd();
  const metrics = createMetrics();
  const pool = await WorkerPool.start(
    { graphs: workerGraphs(registry), intraOpThreads: opts.intraOpThreads, spinning: opts.spinning, nice: opts.workerNice },
    opts.workers,
  );
  pool.onRespawn = (reason) => log.warn({ event: 'worker-respawn', reason }, 'an inference worker died and was replaced');
  const scheduler = new Scheduler(pool, opts, {
    onBatch: (_key, size) => metrics.batchSize.observe(size),
  });
  metrics.readQueueDepths(() => scheduler.depths());
  for (const s of registry.values()) {
    scheduler.addGraph(s.graphKeys.tail, product(s.featureShape));
    scheduler.addGraph(s.graphKeys.full, product(s.inputShape));
  }
  return { registry, limits, zstd, metrics, pool, scheduler };
}
