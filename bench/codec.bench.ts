/**
 * Feature codec benchmark: encode and decode time per request and bytes produced, for a small
 * feature (2×7×7, the Fashion-MNIST bottleneck) and a large one (12×28×28, a ResNet-style
 * bottleneck at 224×224), at 1, 2, 4, 8 bits (and float16/float32), with and without zstd.
 * zstd runs on every backend present (wasm always, native when zstd-napi built). Baseline measured
 * in the same run: copying the raw float32 tensor (what sending it uncompressed costs at least).
 *
 * Usage: npm run bench:codec -- [--json out.json] [--iterations 2000]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeFeatures, encodeFeatures, loadZstdWasm, type ZstdBackend } from '../bottleneck/index.js';
import { loadZstdNative } from '../bottleneck/zstd-native.js';
import { environment, percentile, r2, timeUs } from './stats.js';

const { values: args } = parseArgs({ options: { json: { type: 'string' }, iterations: { type: 'string', default: '2000' } } });
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
const variants: { codec: 'none' | 'zstd'; backend: string; zstd: ZstdBackend | undefined }[] = [
  { codec: 'none', backend: '-', zstd: undefined },
  { codec: 'zstd', backend: 'wasm', zstd: wasm },
  ...(nativeZstd ? [{ codec: 'zstd' as const, backend: 'native', zstd: nativeZstd }] : []),
];
const shapes = [[1, 2, 7, 7], [1, 12, 28, 28]];
const rows: Record<string, unknown>[] = [];
const baseline: Record<string, unknown>[] = [];

for (const shape of shapes) {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = reluLike(n, 42);
  const copyEnc = timeUs(() => Buffer.concat([Buffer.from(x.buffer, x.byteOffset, x.byteLength)]), iterations);
  const raw = new Uint8Array(x.buffer.slice(0));
  const copyDec = timeUs(() => new Float32Array(raw.buffer.slice(0)), iterations);
  baseline.push({ shape: shape.join('x'), bytes: n * 4, copyUsP50: r2(percentile(copyEnc, 50)), copyBackUsP50: r2(percentile(copyDec, 50)) });
  for (const bits of [1, 2, 4, 8, 16, 32]) {
    for (const { codec, backend: backendName, zstd } of variants) {
      const spec = { shape, bits, range: { min: 0, max: 4 }, codec: codec === 'zstd' ? ('auto' as const) : ('none' as const) };
      const enc = encodeFeatures(x, spec, zstd);
      const te = timeUs(() => encodeFeatures(x, spec, zstd), iterations);
      const out = new Float32Array(n);
      const td = timeUs(() => decodeFeatures(enc.bytes, enc.meta, { zstd, out }), iterations);
      rows.push({
        shape: shape.join('x'),
        bits,
        codec,
        backend: backendName,
        codecUsed: enc.meta.codec,
        bytes: enc.bytes.length,
        packedBytes: enc.meta.uncompressedBytes,
        encodeUsP50: r2(percentile(te, 50)),
        encodeUsP99: r2(percentile(te, 99)),
        decodeUsP50: r2(percentile(td, 50)),
        decodeUsP99: r2(percentile(td, 99)),
        encodeVsCopy: r2(percentile(te, 50) / percentile(copyEnc, 50)),
      });
    }
  }
}

console.log('baseline (raw float32 copy, same run):');
console.table(baseline);
console.table(rows);
if (args.json) {
  writeFileSync(args.json, JSON.stringify({ benchmark: 'codec', iterations, data: 'synthetic post-ReLU features: 50% zeros, exponential(1), range [0, 4]', zstd: variants.slice(1).map((v) => v.zstd!.name), environment: environment(), baseline, rows }, null, 2) + '\n');
  console.log(`wrote ${args.json}`);
}
