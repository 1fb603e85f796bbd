import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeFeatures, encodeFeatures } from '../../bottleneck/index.js';
import { evaluateBundle } from '../../bench/eval.js';
import { loadBundle, normalizeInto } from '../../protocol/index.js';

const MODELS = join(import.meta.dirname, '..', '..', 'models');
const folders = existsSync(MODELS) ? readdirSync(MODELS, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort() : [];
const bundles = folders.filter((d) => existsSync(join(MODELS, d, 'manifest.json')));

describe('models/', () => {
  it('holds only bundle folders (each with a manifest.json)', () => {
    expect(folders.filter((d) => !bundles.includes(d))).toEqual([]);
  });
});

interface Golden {
  images: number[][];
  features: number[][];
  exit0Logits: number[][];
  fullLogits: number[][];
  splitLogitsByBits: Record<string, number[][]>;
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], atol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(atol);
}

describe.each(bundles)('committed bundle %s', (name) => {
  const dir = join(MODELS, name);

  it("loads, verifies, and reproduces the exporter's golden outputs (atol 1e-4)", async () => {
    const b = await loadBundle(dir);
    const m = b.manifest;
    const g = JSON.parse(await readFile(join(dir, 'golden.json'), 'utf8')) as Golden;
    const [head, tail, full] = await Promise.all([b.paths.head, b.paths.tail, b.paths.full].map((p) => ort.InferenceSession.create(p)));
    try {
      for (let i = 0; i < g.images.length; i++) {
        const x = new ort.Tensor('float32', normalizeInto(g.images[i]!, m.input, new Float32Array(784)), [1, 1, 28, 28]);
        const h = await head!.run({ input: x });
        const features = h.features!.data as Float32Array;
        expectClose(features, g.features[i]!);
        expectClose(h.exit0_logits!.data as Float32Array, g.exit0Logits[i]!);
        expectClose((await full!.run({ input: x })).logits!.data as Float32Array, g.fullLogits[i]!);
        for (const bits of m.bottleneck.bits) {
          const enc = encodeFeatures(features, { shape: [1, ...m.bottleneck.shape], bits, range: m.bottleneck.range });
          const q = await tail!.run({ features: new ort.Tensor('float32', decodeFeatures(enc.bytes, enc.meta), [1, ...m.bottleneck.shape]) });
          expectClose(q.logits!.data as Float32Array, g.splitLogitsByBits[String(bits)]![i]!);
        }
      }
    } finally {
      await Promise.all([head!.release(), tail!.release(), full!.release()]);
    }
  });

  it("agrees with PyTorch's simulated quantization on >= 99.9% of the first 2,000 test images, within its byte budget", async () => {
    const r = await evaluateBundle({ bundle: dir, limit: 2000 });
    expect(r.agreementWithPyTorch).toBeGreaterThanOrEqual(0.999);
    const { manifest } = await loadBundle(dir);
    expect(r.payloadBytesMax).toBeLessThanOrEqual(manifest.bottleneck.budgetBytes ?? manifest.bottleneck.payloadBytes![String(r.bits)]!);
  }, 60_000);
});
