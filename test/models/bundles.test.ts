/**
 * Every committed bundle under models/ (whatever its name): a protocol v2 bundle (schemaVersion 2)
 * that loads and verifies; whose golden.json (written by the exporter from PyTorch) the
 * TypeScript path reproduces — graph outputs, the entropy coder's symbols and bytes, split
 * predictions; and whose manifest's test accuracy and mean payload `offramp eval` reproduces on the
 * first 1,000 test images. A schemaVersion 1 folder fails: the v1 bundles must go.
 *
 * The same checks run on the v2 test fixture (test/fixtures/tiny), so they are known to work
 * whatever models/ holds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { decodeFeatures, encodeFeatures, entropySymbols } from '../../bottleneck/features.js';
import { resolveRatePoints } from '../../bottleneck/rate-points.js';
import { imageAt, loadFashionMnistTest, type ImageSet } from '../../head/datasets/fashion-mnist.js';
import { loadBundle, type LoadedBundle } from '../../protocol/bundle.js';
import { normalizeInto } from '../../protocol/normalize.js';
import { evaluateBundle } from '../../split/eval.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MODELS = join(ROOT, 'models');
const TINY = join(ROOT, 'test', 'fixtures', 'tiny');

/** Test images `offramp eval` checks the manifest's figures on. */
const EVAL_LIMIT = 1000;
/**
 * Tolerances for a 1,000-image subset against figures over all 10,000: a 90% accuracy has a
 * standard error of about 0.9 pt on it (0.95 pt at 80%), so 3 pt is over 3σ; payload sizes vary
 * far less from image to image (tiny's s1: 13.14 B on the first 1,000, 13.03 B on all).
 */
const ACCURACY_TOLERANCE = 0.03;
const BYTES_TOLERANCE = 0.05;
/** PyTorch against onnxruntime on the same graph: float32 rounding only. */
const ATOL = 1e-4;
const RTOL = 1e-4;

/** golden.json as the exporter writes it (bottleneck/train/export.py write_golden). */
interface Golden {
  images: number[][];
  labels: number[];
  latent: number[][];
  exit0Logits?: number[][];
  fullLogits: number[][];
  rates: Record<string, { step?: number; symbols?: number[][]; payloads?: string[]; tailLogits?: number[][] }>;
  splitPredictions: Record<string, number[]>;
}

const folders = existsSync(MODELS) ? readdirSync(MODELS, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort() : [];
const bundles = folders.filter((d) => existsSync(join(MODELS, d, 'manifest.json')));
/** schemaVersion as written (read at collection time, to know which checks apply). */
const schemaVersion = (dir: string): unknown => (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { schemaVersion?: unknown }).schemaVersion;

function expectClose(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = ATOL + RTOL * Math.abs(expected[i]!);
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol)) expect.fail(`${what}[${i}]: ${actual[i]} vs PyTorch's ${expected[i]} (tolerance ${tol.toExponential(2)})`);
  }
}

/** The golden images as an image set (what evaluateBundle reads). */
function goldenSet(g: Golden, b: LoadedBundle): ImageSet {
  const [height, width] = b.manifest.input.raw.shape.slice(-2) as [number, number];
  return { count: g.images.length, height, width, images: Uint8Array.from(g.images.flat()), labels: Uint8Array.from(g.labels) };
}

/** The v2 checks of one bundle folder. */
function v2Checks(dir: string): void {
  const load = async (): Promise<{ b: LoadedBundle; g: Golden }> => ({ b: await loadBundle(dir), g: JSON.parse(await readFile(join(dir, 'golden.json'), 'utf8')) as Golden });

  it('loads and verifies: schema, the sha256 of every file, the ONNX graphs\' ports', async () => {
    const b = await loadBundle(dir);
    expect(b.manifest.schemaVersion).toBe(2);
    expect(b.manifest.task).toBe('classification'); // models/ holds Fashion-MNIST classifiers
    expect(b.manifest.accuracy?.split).toBe('test');
    expect(b.manifest.accuracy?.samples).toBe(10000);
  });

  it("golden.json: the test split's first images, through head, exit and full model as PyTorch computed them", async () => {
    const { b, g } = await load();
    const m = b.manifest;
    const data = await loadFashionMnistTest();
    expect(g.images.length).toBeGreaterThan(0);
    g.images.forEach((img, i) => {
      expect(img, `golden image ${i}`).toEqual(Array.from(imageAt(data, i)));
      expect(g.labels[i], `golden label ${i}`).toBe(data.labels[i]);
    });
    const [head, full] = await Promise.all([ort.InferenceSession.create(b.paths.head), ort.InferenceSession.create(b.paths.full)]);
    try {
      const size = m.input.shape.reduce((a, x) => a * x, 1);
      for (let i = 0; i < g.images.length; i++) {
        const x = new ort.Tensor('float32', normalizeInto(g.images[i]!, m.input, new Float32Array(size)), [1, ...m.input.shape]);
        const h = await head.run({ [m.graphs.head.inputs[0]!.name]: x });
        expectClose(h[m.bottleneck.headOutput]!.data as Float32Array, g.latent[i]!, `image ${i} ${m.bottleneck.headOutput}`);
        if (m.exits[0] && g.exit0Logits) expectClose(h[m.exits[0].output]!.data as Float32Array, g.exit0Logits[i]!, `image ${i} ${m.exits[0].output}`);
        const f = await full.run({ [m.graphs.full.inputs[0]!.name]: x });
        expectClose(f[m.outputs[0]!.name]!.data as Float32Array, g.fullLogits[i]!, `image ${i} full ${m.outputs[0]!.name}`);
      }
    } finally {
      await Promise.all([head.release(), full.release()]);
    }
  });

  it("golden.json: the TS coder writes the reference coder's symbols and payload bytes, and the tail decodes them as PyTorch did", async () => {
    const { b, g } = await load();
    const m = b.manifest;
    const rps = resolveRatePoints(m, b.tables);
    const entropyIds = m.bottleneck.ratePoints.filter((rp) => rp.codec === 'entropy').map((rp) => rp.id);
    expect(Object.keys(g.rates).filter((id) => g.rates[id]!.payloads).sort()).toEqual([...entropyIds].sort());
    const tail = await ort.InferenceSession.create(b.paths.tail);
    try {
      for (const id of entropyIds) {
        const index = m.bottleneck.ratePoints.findIndex((rp) => rp.id === id);
        const rp = rps[index]!;
        if (rp.codec !== 'entropy') throw new Error(`${id} is not an entropy rate point`);
        const golden = g.rates[id]!;
        for (let i = 0; i < g.images.length; i++) {
          const latent = Float32Array.from(g.latent[i]!);
          if (golden.symbols) expect(Array.from(entropySymbols(latent, rp)), `${id} symbols of image ${i}`).toEqual(golden.symbols[i]);
          const enc = encodeFeatures(latent, m.bottleneck.shape, rp);
          expect(enc.zstd).toBe(false);
          expect(Buffer.from(enc.payload).toString('hex'), `${id} payload of image ${i}`).toBe(golden.payloads![i]);
          if (golden.tailLogits) {
            const decoded = decodeFeatures(Uint8Array.from(Buffer.from(golden.payloads![i]!, 'hex')), false, m.bottleneck.shape, rp);
            const t = await tail.run({ [m.bottleneck.tailInput]: new ort.Tensor('float32', decoded, [1, ...m.bottleneck.shape]) });
            expectClose(t[m.outputs[0]!.name]!.data as Float32Array, golden.tailLogits[i]!, `${id} tail logits of image ${i}`);
          }
        }
      }
    } finally {
      await tail.release();
    }
  });

  it("golden.json: the TS path (head → exit → codec → tail) predicts what PyTorch's split model did on the golden images, at every rate point", async () => {
    const { b, g } = await load();
    const m = b.manifest;
    for (const rp of m.bottleneck.ratePoints) {
      expect(g.splitPredictions[rp.id], `splitPredictions.${rp.id}`).toHaveLength(m.accuracy!.samples);
      const r = await evaluateBundle({ bundle: dir, rate: rp.id, data: goldenSet(g, b) });
      expect(r.samples).toBe(g.images.length);
      expect(r.agreementWithPyTorch, `rate point ${rp.id}`).toBe(1);
    }
  }, 120_000);

  it(`offramp eval on the first ${EVAL_LIMIT} test images: within ${ACCURACY_TOLERANCE * 100} pt of the manifest's test accuracy and ${BYTES_TOLERANCE * 100}% of its mean payload, ≥ 99.9% agreement with PyTorch`, async () => {
    const m = (await loadBundle(dir)).manifest;
    for (const rp of m.bottleneck.ratePoints) {
      const r = await evaluateBundle({ bundle: dir, rate: rp.id, limit: EVAL_LIMIT });
      expect(r.samples).toBe(EVAL_LIMIT);
      const want = m.accuracy!.splitByRate[rp.id];
      expect(want, `accuracy.splitByRate.${rp.id}`).toBeDefined();
      expect(Math.abs(r.splitAccuracy - want!), `${rp.id}: split accuracy ${r.splitAccuracy} vs the manifest's ${want}`).toBeLessThanOrEqual(ACCURACY_TOLERANCE);
      expect(Math.abs(r.teacherAccuracy - m.accuracy!.teacher), `teacher accuracy ${r.teacherAccuracy} vs the manifest's ${m.accuracy!.teacher}`).toBeLessThanOrEqual(ACCURACY_TOLERANCE);
      if (rp.bytes) expect(Math.abs(r.payloadBytesMean - rp.bytes.mean), `${rp.id}: mean payload ${r.payloadBytesMean} B vs the manifest's ${rp.bytes.mean} B`).toBeLessThanOrEqual(BYTES_TOLERANCE * rp.bytes.mean);
      if (rp.codec === 'entropy') expect(rp.bytes, `${rp.id}: an entropy rate point states its measured sizes`).toBeDefined();
      expect(r.agreementWithPyTorch, `${rp.id}: agreement with PyTorch`).toBeGreaterThanOrEqual(0.999);
    }
  }, 300_000);
}

describe('models/', () => {
  it('holds only bundle folders (each with a manifest.json)', () => {
    expect(folders.filter((d) => !bundles.includes(d))).toEqual([]);
  });
});

describe.each(bundles)('models/%s', (name) => {
  const dir = join(MODELS, name);
  const version = schemaVersion(dir);

  it('is a protocol v2 bundle (schemaVersion 2)', () => {
    expect(version, `models/${name} has schemaVersion ${String(version)}: protocol v1 bundles must be replaced by v2 bundles (bottleneck/train, offramp train)`).toBe(2);
  });

  if (version === 2) v2Checks(dir);
});

describe('the same checks on the v2 test fixture (test/fixtures/tiny)', () => {
  v2Checks(TINY);
});
