/**
 * `offramp demo` (`npm start`): an edge server in-process on a free port with the committed
 * bundles, a device for the default bundle, the committed Fashion-MNIST test set through it —
 * adaptive policy, then always-local and always-offload for comparison — and a short table.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { imageAt, loadFashionMnistTest } from '../head/datasets/fashion-mnist.js';
import { percentile } from '../bench/stats.js';
import { createDevice, type InferResult } from '../head/index.js';
import type { ForcedPolicy } from '../head/policy.js';
import { createEdgeServer } from '../tail/index.js';
import { repoRoot } from './paths.js';


/** The default bundle: models/fmnist-b32 once it is committed, else the tiny test bundle. */
export function defaultBundle(): string {
  const b32 = join(repoRoot(), 'models', 'fmnist-b32');
  return existsSync(join(b32, 'manifest.json')) ? b32 : join(repoRoot(), 'test', 'fixtures', 'tiny');
}

interface Row {
  policy: string;
  accuracy: number;
  paths: Record<string, number>;
  bytesUp: number;
  mean: number;
  p50: number;
  p95: number;
}

export async function demoCommand(opts: { bundle?: string; limit?: string; concurrency?: string; progress?: boolean }, out: (s: string) => void): Promise<number> {
  const bundleDir = opts.bundle ?? defaultBundle();
  const data = await loadFashionMnistTest();
  const n = Math.min(Number(opts.limit ?? data.count), data.count);
  const concurrency = Number(opts.concurrency ?? 8);
  const models = await mkdtemp(join(tmpdir(), 'offramp-demo-'));
  await cp(bundleDir, join(models, basename(bundleDir)), { recursive: true });
  const edge = await createEdgeServer({ models, port: 0, workers: 1 });
  out(`edge ${edge.url} serving ${basename(bundleDir)}; ${n} test images per policy`);
  const rows: Row[] = [];
  try {
    for (const [name, force] of [['adaptive', undefined], ['always-local', 'always-local'], ['always-offload', 'always-offload']] as [string, ForcedPolicy | undefined][]) {
      const device = await createDevice({ bundle: bundleDir, edge: edge.url, policy: force ? { force } : {} });
      const bar = opts.progress === false ? undefined : new SingleBar({ format: `${name.padEnd(15)} {bar} {value}/{total}`, hideCursor: true }, Presets.shades_classic);
      bar?.start(n, 0);
      const results: InferResult[] = new Array<InferResult>(n);
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          results[i] = await device.infer(Uint8Array.from(imageAt(data, i)));
          bar?.increment();
        }
      }));
      bar?.stop();
      await device.close();
      const paths: Record<string, number> = {};
      let correct = 0;
      let up = 0;
      results.forEach((r, i) => {
        paths[r.path] = (paths[r.path] ?? 0) + 1;
        if (r.label === data.labels[i]) correct++;
        up += r.bytesUp;
      });
      const lat = results.map((r) => r.timings.total).sort((a, b) => a - b);
      rows.push({ policy: name, accuracy: correct / n, paths, bytesUp: up / n, mean: lat.reduce((a, b) => a + b, 0) / n, p50: percentile(lat, 50), p95: percentile(lat, 95) });
    }
  } finally {
    await edge.close();
    await rm(models, { recursive: true, force: true });
  }
  const fmtPaths = (p: Record<string, number>): string => Object.entries(p).sort().map(([k, v]) => `${k} ${((v / n) * 100).toFixed(1)}%`).join(', ');
  out('');
  out('| policy | accuracy | answers by path | bytes up / request | latency mean ms | p50 ms | p95 ms |');
  out('|---|---|---|---|---|---|---|');
  for (const r of rows) out(`| ${r.policy} | ${(r.accuracy * 100).toFixed(2)}% | ${fmtPaths(r.paths)} | ${r.bytesUp.toFixed(1)} | ${r.mean.toFixed(2)} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} |`);
  return 0;
}
