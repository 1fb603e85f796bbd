/**
 * Feature codec benchmark: encode and decode time per sample and bytes produced, for
 * - the entropy codec on real latents: every committed bundle's (or the tiny test bundle's)
 *   entropy rate points on the first test images through its head, with zstd (wasm, and native
 *   when zstd-napi built) on the same latents quantized to 8 bits beside it;
 * - uniform quantization and float16/32 at a small and a large synthetic shape.
 * Baseline measured in the same run: copying the raw float32 tensor.
 *
 * Usage: npm run bench:codec -- [--json out.json] [--iterations 2000] [--bundle dir,...]
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeFeatures, encodeFeatures, type RatePoint } from '../bottleneck/features.js';
import { resolveRatePoints } from '../bottleneck/rate-points.js';
import { loadZstdWasm, type ZstdBackend } from '../bottleneck/zstd.js';
import { loadZstdNative } from '../bottleneck/zstd-native.js';
import { imageAt, loadFashionMnistTest } from '../head/datasets/fashion-mnist.js';
import { loadBundle } from '../protocol/bundle.js';
import { normalizeInto } from '../protocol/normalize.js';
import { environment, percentile, r2, timeUs } from './stats.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    iterations: { type: 'string', default: '2000' },
    bundle: { type: 'string' },
    samples: { type: 'string', default: '64' },
  },
});
const iterations = Number(args.iterations);

/** Post-ReLU-like activations: half zeros, the rest exponential with mean 1 (deterministic). */
function reluLike(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) / 2 ** 24;
  };
  return Float32Array.from({ length: n }, () => (next() < 0.5 ? 0 : -Math.log(1 - next())));
}

const wasm = await loadZstdWasm();
const nativeZstd = await loadZstdNative();
const zstds: [string, ZstdBackend][] = [['wasm', wasm], ...(nativeZstd ? [['native', nativeZstd] as [string, ZstdBackend]] : [])];
const rows: Record<string, unknown>[] = [];

/** Times encode and decode of `xs` (cycled) at `rp`; `zstd` wraps when smaller. */
function measure(label: Record<string, unknown>, xs: Float32Array[], shape: number[], rp: RatePoint, zstd?: ZstdBackend): void {
  const n = xs[0]!.length;
  const encs = xs.map((x) => encodeFeatures(x, shape, rp, { zstd, zstdMinBytes: 0 }));
  let i = 0;
  const te = timeUs(() => encodeFeatures(xs[i++ % xs.length]!, shape, rp, { zstd, zstdMinBytes: 0 }), iterations);
  const out = new Float32Array(n);
  let j = 0;
  const td = timeUs(() => {
    const e = encs[j++ % encs.length]!;
    decodeFeatures(e.payload, e.zstd, shape, rp, { zstd, out });
  }, iterations);
  const bytes = encs.map((e) => e.payload.length);
  rows.push({
    ...label,
    values: n,
    bytesMean: r2(bytes.reduce((a, b) => a + b, 0) / bytes.length),
    zstdUsed: encs.filter((e) => e.zstd).length / encs.length,
    encodeUsP50: r2(percentile(te, 50)),
    decodeUsP50: r2(percentile(td, 50)),
    roundTripUsP50: r2(percentile(te, 50) + percentile(td, 50)),
    encodeUsP99: r2(percentile(te, 99)),
    decodeUsP99: r2(percentile(td, 99)),
  });
}

// Real latents: each bundle's head on the first test images.
const bundles = args.bundle
  ? args.bundle.split(',')
  : existsSync(join(ROOT, 'models'))
    ? readdirSync(join(ROOT, 'models'))
        .filter((d) => d.startsWith('fmnist-'))
        .map((d) => join(ROOT, 'models', d))
        .filter((d) => existsSync(join(d, 'manifest.json')))
    : [];
if (bundles.length === 0) bundles.push(join(ROOT, 'test', 'fixtures', 'tiny'));
const data = await loadFashionMnistTest();
for (const dir of bundles) {
  const b = await loadBundle(dir, { checkGraphs: false });
  const m = b.manifest;
  const rps = resolveRatePoints(m, b.tables);
  const head = await ort.InferenceSession.create(b.paths.head, { intraOpNumThreads: 1 });
  const xs: Float32Array[] = [];
  const inSize = m.input.shape.reduce((a, c) => a * c, 1);
  for (let s = 0; s < Number(args.samples); s++) {
    const x = normalizeInto(imageAt(data, s), m.input, new Float32Array(inSize));
    const out = await head.run({ [m.graphs.head.inputs[0]!.name]: new ort.Tensor('float32', x, [1, ...m.input.shape]) });
    xs.push((out[m.bottleneck.headOutput]!.data as Float32Array).slice());
  }
  await head.release();
  const shape = m.bottleneck.shape;
  rps.forEach((rp, k) => {
    if (rp.codec === 'entropy') measure({ kind: 'latent', bundle: m.id, rate: m.bottleneck.ratePoints[k]!.id, codec: 'entropy' }, xs, shape, rp);
  });
  // zstd beside it on the same latents: 8-bit uniform over each sample set's range, then zstd.
  const lo = Math.min(...xs.map((x) => Math.min(...x)));
  const hi = Math.max(...xs.map((x) => Math.max(...x)));
  const u8: RatePoint = { codec: 'uniform', bits: 8, min: [lo], max: [hi > lo ? hi : lo + 1] };
  measure({ kind: 'latent', bundle: m.id, rate: 'u8', codec: 'uniform 8 bits' }, xs, shape, u8);
  for (const [name, z] of zstds) measure({ kind: 'latent', bundle: m.id, rate: 'u8', codec: `uniform 8 bits + zstd (${name})` }, xs, shape, u8, z);
}

// Synthetic shapes: uniform and float codecs, zstd when it shrinks.
const baseline: Record<string, unknown>[] = [];
for (const shape of [
  [2, 7, 7],
  [12, 28, 28],
]) {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = reluLike(n, 42);
  const copyEnc = timeUs(() => Buffer.concat([Buffer.from(x.buffer, x.byteOffset, x.byteLength)]), iterations);
  baseline.push({ shape: shape.join('x'), bytes: n * 4, copyUsP50: r2(percentile(copyEnc, 50)) });
  for (const rp of [1, 2, 4, 8]
    .map((bits): RatePoint => ({ codec: 'uniform', bits, min: [0], max: [4] }))
    .concat([{ codec: 'float16' }, { codec: 'float32' }])) {
    const name = rp.codec === 'uniform' ? `uniform ${rp.bits} bits` : rp.codec;
    measure({ kind: 'synthetic', shape: shape.join('x'), codec: name }, [x], shape, rp);
    measure({ kind: 'synthetic', shape: shape.join('x'), codec: `${name} + zstd (wasm)` }, [x], shape, rp, wasm);
  }
}

console.log('baseline (raw float32 copy, same run):');
console.table(baseline);
console.table(rows);
if (args.json) {
  writeFileSync(
    args.json,
    JSON.stringify({ benchmark: 'codec', iterations, zstd: zstds.map(([, z]) => z.name), environment: environment(), baseline, rows }, null, 2) + '\n',
  );
  console.log(`wrote ${args.json}`);
}
