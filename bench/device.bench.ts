/**
 * Device-side cost per request: head compute (onnxruntime) and everything the SDK adds around
 * it — preprocessing, exit decision, feature encoding, framing — measured in the same run.
 * overheadRatio = overhead p50 / head p50. Targets: ≤ 0.25 for Fashion-MNIST, ≤ 0.02 for ResNet-50.
 *
 * Usage: npm run bench:device -- [--bundle dir ...] [--backend onnxruntime-node,onnxruntime-web]
 *        [--iterations 500] [--json out.json]
 */
import { existsSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeFeatures } from '../bottleneck/features.js';
import { resolveRatePoints } from '../bottleneck/rate-points.js';
import { loadBackend, type BackendName } from '../head/backend.js';
import { exitDecision } from '../head/exit.js';
import { loadBundle } from '../protocol/bundle.js';
import { encodeFrame } from '../protocol/frame.js';
import { normalizeInto } from '../protocol/normalize.js';
import { environment, percentile, r3 } from './stats.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    bundle: { type: 'string', multiple: true },
    backend: { type: 'string', default: 'onnxruntime-node,onnxruntime-web' },
    iterations: { type: 'string', default: '500' },
    json: { type: 'string' },
  },
});
const defaults = [join(ROOT, 'models', 'fmnist-b32'), join(ROOT, 'models-timing', 'resnet50-b12')].filter((d) => existsSync(d));
const bundles = args.bundle ?? (defaults.length ? defaults : [join(ROOT, 'test', 'fixtures', 'tiny')]);
const rows: Record<string, unknown>[] = [];

for (const dir of bundles) {
  const b = await loadBundle(dir);
  const m = b.manifest;
  const inSize = m.input.shape.reduce((a, c) => a * c, 1);
  // Slow heads get fewer iterations: about 20 s per configuration at most.
  for (const backendName of args.backend.split(',') as BackendName[]) {
    const backend = await loadBackend(backendName);
    const head = await backend.open(await readFile(b.paths.head));
    const raw = Uint8Array.from({ length: inSize }, (_, i) => (i * 37) % 256);
    const rpIndex = m.bottleneck.defaultRatePoint;
    const rp = resolveRatePoints(m, b.tables)[rpIndex]!;
    const feed = (x: Float32Array): Record<string, { data: Float32Array; dims: number[] }> => ({
      [m.graphs.head.inputs[0]!.name]: { data: x, dims: [1, ...m.input.shape] },
    });
    const t0 = performance.now();
    await head.run(feed(new Float32Array(inSize)));
    const once = performance.now() - t0;
    const iterations = Math.max(20, Math.min(Number(args.iterations), Math.floor(20_000 / Math.max(once, 0.01))));
    const headMs: number[] = [];
    const overheadMs: number[] = [];
    for (let i = 0; i < iterations + 10; i++) {
      const a = performance.now();
      const x = normalizeInto(raw, m.input, new Float32Array(inSize));
      const b0 = performance.now();
      const out = await head.run(feed(x));
      const b1 = performance.now();
      for (const e of m.exits) exitDecision(out[e.output]!.data, 0.9);
      const enc = encodeFeatures(out[m.bottleneck.headOutput]!.data, m.bottleneck.shape, rp);
      encodeFrame({ type: 'request', request: { id: 1 + (i % 64), payload: enc.payload, rate: rpIndex } });
      const c = performance.now();
      if (i < 10) continue; // warm-up
      headMs.push(b1 - b0);
      overheadMs.push(b0 - a + (c - b1));
    }
    await head.release();
    headMs.sort((p, q) => p - q);
    overheadMs.sort((p, q) => p - q);
    const row = {
      bundle: m.id,
      backend: backendName,
      ratePoint: m.bottleneck.ratePoints[rpIndex]!.id,
      iterations,
      headMsP50: r3(percentile(headMs, 50)),
      headMsP95: r3(percentile(headMs, 95)),
      overheadMsP50: r3(percentile(overheadMs, 50)),
      overheadRatio: r3(percentile(overheadMs, 50) / percentile(headMs, 50)),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
console.table(rows);
if (args.json) writeFileSync(args.json, JSON.stringify({ benchmark: 'device', environment: environment(), rows }, null, 2) + '\n');
