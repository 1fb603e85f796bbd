/**
 * The evaluator behind `offramp eval`: the committed test set through the real runtime path in one
 * process — onnxruntime-node head → exit decision → the TS codec at a rate point (encode →
 * bytes → decode) → onnxruntime-node tail — with the full model (full.onnx) on the same samples
 * as the reference.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeFeatures, encodeFeatures, type RatePoint } from '../bottleneck/features.js';
import { resolveRatePoints } from '../bottleneck/rate-points.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import { imageAt, loadFashionMnistTest, type ImageSet } from '../head/datasets/fashion-mnist.js';
import { exitDecision } from '../head/exit.js';
import { loadBundle, type LoadedBundle } from '../protocol/bundle.js';
import type { Manifest, RatePointSpec } from '../protocol/manifest.js';
import { normalizeInto } from '../protocol/normalize.js';
import { argmax } from '../protocol/scores.js';

/** Options of {@link evaluateBundle}. */
export interface EvalOptions {
  bundle: string;
  /** Rate point id or index; default: the manifest's default rate point. */
  rate?: string;
  /** Exit threshold; default: the manifest's recommended one. */
  threshold?: number;
  /** Evaluate only the first `limit` test images. */
  limit?: number;
  /** Try zstd on each payload (kept when smaller). */
  zstd?: ZstdBackend;
  batchSize?: number;
  /** Defaults to the committed Fashion-MNIST test split. */
  data?: ImageSet;
}

/** What `offramp eval` writes. */
export interface EvalResult {
  bundle: string;
  /** The rate point's id and its codec. */
  ratePoint: string;
  codec: string;
  samples: number;
  /** With exits at `threshold`. */
  accuracy: number;
  /** Every sample through the tail. */
  splitAccuracy: number;
  teacherAccuracy: number;
  payloadBytesMean: number;
  payloadBytesP99: number;
  payloadBytesMax: number;
  /** The entropy model's own estimate of the mean payload (ideal code length), when the manifest states it. */
  estimatedBytesMean: number | null;
  exitRate: number;
  exitAccuracy: number;
  threshold: number;
  /** Multiply-accumulates per sample: head (with exits) and the teacher (full.onnx). */
  headMacs: number | null;
  teacherMacs: number | null;
  /**
   * Share of samples whose split prediction equals PyTorch's (golden.json; over the samples it
   * covers); null without golden predictions.
   */
  agreementWithPyTorch: number | null;
  seconds: number;
}

/** The rate point index for an id or index string (default: the manifest's default). */
export function ratePointIndex(m: Manifest, rate: string | undefined): number {
  if (rate === undefined) return m.bottleneck.defaultRatePoint;
  const byId = m.bottleneck.ratePoints.findIndex((rp) => rp.id === rate);
  if (byId >= 0) return byId;
  const i = /^\d+$/.test(rate) ? Number(rate) : NaN; // an index in decimal digits; Number() would read "" as 0 and " 1", "0x1" as 1
  if (Number.isInteger(i) && i >= 0 && i < m.bottleneck.ratePoints.length) return i;
  throw new RangeError(`${m.id} has no rate point ${JSON.stringify(rate)} (it has ${m.bottleneck.ratePoints.map((rp) => rp.id).join(', ')})`);
}

async function goldenPredictions(dir: string, rateId: string): Promise<number[] | null> {
  try {
    const g = JSON.parse(await readFile(join(dir, 'golden.json'), 'utf8')) as { splitPredictions?: Record<string, number[]> };
    return g.splitPredictions?.[rateId] ?? null;
  } catch {
    return null;
  }
}

/** The q-th quantile (0..1) of `values` (sorted copy, nearest rank). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** What is evaluated: the manifest, the rate point (as declared and resolved), the first exit and its threshold. */
interface Plan {
  m: Manifest;
  rpSpec: RatePointSpec;
  rp: RatePoint;
  exit: Manifest['exits'][number] | undefined;
  threshold: number;
  zstd: ZstdBackend | undefined;
}

interface Sessions {
  head: ort.InferenceSession;
  tail: ort.InferenceSession;
  full: ort.InferenceSession;
}

/** One batch's logits: the tail's (after the codec), the full model's, and the first exit's. */
interface BatchLogits {
  tail: Float32Array;
  full: Float32Array;
  exit: Float32Array | undefined;
}

/** Counts over the samples evaluated so far, and each one's payload bytes. */
interface Tally {
  correct: number;
  splitCorrect: number;
  teacherCorrect: number;
  exits: number;
  exitCorrect: number;
  agree: number;
  compared: number;
  sizes: number[];
}

/** Runs the evaluation. */
export async function evaluateBundle(options: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const bundle = await loadBundle(options.bundle);
  const plan = planEval(bundle.manifest, bundle.tables, options);
  const data = options.data ?? (await loadFashionMnistTest());
  const samples = Math.min(options.limit ?? data.count, data.count);
  const golden = await goldenPredictions(bundle.dir, plan.rpSpec.id);
  const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1 };
  const [head, tail, full] = await Promise.all([
    ort.InferenceSession.create(bundle.paths.head, sessionOptions),
    ort.InferenceSession.create(bundle.paths.tail, sessionOptions),
    ort.InferenceSession.create(bundle.paths.full, sessionOptions),
  ]);
  const bs = options.batchSize ?? 250;
  const tally: Tally = { correct: 0, splitCorrect: 0, teacherCorrect: 0, exits: 0, exitCorrect: 0, agree: 0, compared: 0, sizes: [] };
  try {
    for (let start = 0; start < samples; start += bs) {
      const n = Math.min(bs, samples - start);
      const logits = await runBatch({ head, tail, full }, plan, data, start, n, tally.sizes);
      score(tally, plan, logits, data.labels, golden, start, n);
    }
  } finally {
    await Promise.all([head.release(), tail.release(), full.release()]);
  }
  return summarise(plan, samples, tally, (performance.now() - t0) / 1000);
}

/** The bundle's rate point and exit threshold for these options; a timing-only or non-classification bundle is a RangeError. */
function planEval(m: Manifest, tables: LoadedBundle['tables'], options: EvalOptions): Plan {
  if (m.timingOnly) throw new RangeError(`${m.id} is timing-only: it has no accuracy to evaluate`);
  if (m.task !== 'classification') throw new RangeError(`${m.id} is a ${m.task} bundle: evaluate it with offramp split's agreement figures`);
  const rpIndex = ratePointIndex(m, options.rate);
  const exit = m.exits[0];
  return {
    m,
    rpSpec: m.bottleneck.ratePoints[rpIndex]!,
    rp: resolveRatePoints(m, tables)[rpIndex]!,
    exit,
    threshold: options.threshold ?? exit?.recommendedThreshold ?? 1,
    zstd: options.zstd,
  };
}

/** Samples `start`..`start + n` through the head and the full model, each sample's features through the codec (its payload size pushed on `sizes`), then the tail. */
async function runBatch(s: Sessions, p: Plan, data: ImageSet, start: number, n: number, sizes: number[]): Promise<BatchLogits> {
  const { m, rp } = p;
  const inSize = m.input.shape.reduce((a, b) => a * b, 1);
  const featShape = m.bottleneck.shape;
  const featSize = featShape.reduce((a, b) => a * b, 1);
  const logitsName = m.outputs[0]!.name;
  const input = new Float32Array(n * inSize);
  for (let i = 0; i < n; i++) normalizeInto(imageAt(data, start + i), m.input, input, i * inSize);
  const x = new ort.Tensor('float32', input, [n, ...m.input.shape]);
  const h = await s.head.run({ [m.graphs.head.inputs[0]!.name]: x });
  const f = await s.full.run({ [m.graphs.full.inputs[0]!.name]: x });
  const features = h[m.bottleneck.headOutput]!.data as Float32Array;
  const decoded = new Float32Array(n * featSize);
  for (let i = 0; i < n; i++) {
    const enc = encodeFeatures(features.subarray(i * featSize, (i + 1) * featSize), featShape, rp, { zstd: p.zstd });
    sizes.push(enc.payload.length);
    decodeFeatures(enc.payload, enc.zstd, featShape, rp, { zstd: p.zstd, out: decoded.subarray(i * featSize, (i + 1) * featSize) });
  }
  const t = await s.tail.run({ [m.bottleneck.tailInput]: new ort.Tensor('float32', decoded, [n, ...featShape]) });
  return {
    tail: t[logitsName]!.data as Float32Array,
    full: f[logitsName]!.data as Float32Array,
    exit: p.exit ? (h[p.exit.output]!.data as Float32Array) : undefined,
  };
}

/** Counts one batch's predictions against the labels (and PyTorch's, where golden.json has them). */
function score(tally: Tally, p: Plan, logits: BatchLogits, labels: ArrayLike<number>, golden: number[] | null, start: number, n: number): void {
  const classes = p.m.labels.length;
  for (let i = 0; i < n; i++) {
    const label = labels[start + i]!;
    const splitPred = argmax(logits.tail, i * classes, classes);
    if (splitPred === label) tally.splitCorrect++;
    if (argmax(logits.full, i * classes, classes) === label) tally.teacherCorrect++;
    if (golden && start + i < golden.length) {
      tally.compared++;
      if (golden[start + i] === splitPred) tally.agree++;
    }
    const d = logits.exit ? exitDecision(logits.exit, p.threshold, i * classes, classes) : undefined;
    const pred = d?.take ? d.label : splitPred;
    if (d?.take) {
      tally.exits++;
      if (d.label === label) tally.exitCorrect++;
    }
    if (pred === label) tally.correct++;
  }
}

/** The result from the counts. */
function summarise(p: Plan, samples: number, t: Tally, seconds: number): EvalResult {
  const { m, rpSpec } = p;
  return {
    bundle: m.id,
    ratePoint: rpSpec.id,
    codec: rpSpec.codec,
    samples,
    accuracy: t.correct / samples,
    splitAccuracy: t.splitCorrect / samples,
    teacherAccuracy: t.teacherCorrect / samples,
    payloadBytesMean: t.sizes.reduce((a, b) => a + b, 0) / samples,
    payloadBytesP99: quantile(t.sizes, 0.99),
    payloadBytesMax: Math.max(...t.sizes),
    estimatedBytesMean: rpSpec.bytes?.estimated ?? null,
    exitRate: t.exits / samples,
    exitAccuracy: t.exits ? t.exitCorrect / t.exits : 1,
    threshold: p.threshold,
    headMacs: m.macs ? m.macs.head + (m.macs.exits ?? 0) : null,
    teacherMacs: m.macs?.full ?? null,
    agreementWithPyTorch: t.compared ? t.agree / t.compared : null,
    seconds,
  };
}
