/**
 * The evaluator behind `offramp eval`: the committed test set through the real runtime path in one
 * process — onnxruntime-node head → exit decision → TS codec encode → decode → onnxruntime-node
 * tail — with the full model (full.onnx) on the same samples as the reference.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeFeatures, encodeFeatures, type ZstdBackend } from '../bottleneck/index.js';
import { exitDecision } from '../head/exit.js';
import { normalizeInto } from '../protocol/normalize.js';
import { argmax } from '../protocol/scores.js';
import { loadBundle } from '../protocol/bundle.js';
import type { Manifest } from '../protocol/manifest.js';
import { imageAt, loadFashionMnistTest, type ImageSet } from './datasets/fashion-mnist.js';

/** Options of {@link evaluateBundle}. */
export interface EvalOptions {
  bundle: string;
  /** Bit width; default: the largest trained width whose payload fits `bottleneck.budgetBytes`. */
  bits?: number;
  /** Exit threshold; default: the manifest's recommended one. */
  threshold?: number;
  /** Evaluate only the first `limit` test images. */
  limit?: number;
  zstd?: ZstdBackend;
  batchSize?: number;
  /** Defaults to the committed Fashion-MNIST test split. */
  data?: ImageSet;
}

/** What `offramp eval` writes. */
export interface EvalResult {
  bundle: string;
  bits: number;
  samples: number;
  /** With exits at `threshold`. */
  accuracy: number;
  /** Every sample through the tail. */
  splitAccuracy: number;
  teacherAccuracy: number;
  payloadBytesMean: number;
  payloadBytesMax: number;
  exitRate: number;
  exitAccuracy: number;
  threshold: number;
  /**
   * Share of samples whose split prediction equals PyTorch's simulated-quantization one
   * (golden.json; over the samples it covers); null without golden predictions.
   */
  agreementWithPyTorch: number | null;
  seconds: number;
}

/** The default bit width: the largest trained width whose manifest payload fits the budget. */
export function defaultBits(m: Manifest): number {
  const { bits, budgetBytes, payloadBytes } = m.bottleneck;
  const fits = bits.filter((b) => budgetBytes === undefined || (payloadBytes?.[String(b)] ?? Infinity) <= budgetBytes);
  if (fits.length === 0) throw new RangeError(`no bit width of [${bits.join(', ')}] fits the ${budgetBytes} B budget`);
  return Math.max(...fits);
}

async function goldenPredictions(dir: string, bits: number): Promise<number[] | null> {
  try {
    const g = JSON.parse(await readFile(join(dir, 'golden.json'), 'utf8')) as { splitPredictionsByBits?: Record<string, number[]> };
    return g.splitPredictionsByBits?.[String(bits)] ?? null;
  } catch {
    return null;
  }
}

/** Runs the evaluation. */
export async function evaluateBundle(options: EvalOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const bundle = await loadBundle(options.bundle);
  const m = bundle.manifest;
  if (m.timingOnly) throw new RangeError(`${m.id} is timing-only: it has no accuracy to evaluate`);
  const bits = options.bits ?? defaultBits(m);
  if (!m.bottleneck.bits.includes(bits)) throw new RangeError(`${m.id} was trained for bits [${m.bottleneck.bits.join(', ')}], not ${bits}`);
  const exit = m.exits[0];
  const threshold = options.threshold ?? exit?.recommendedThreshold ?? 1;
  const data = options.data ?? (await loadFashionMnistTest());
  const samples = Math.min(options.limit ?? data.count, data.count);
  const golden = await goldenPredictions(bundle.dir, bits);
  const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1 };
  const [head, tail, full] = await Promise.all([
    ort.InferenceSession.create(bundle.paths.head, sessionOptions),
    ort.InferenceSession.create(bundle.paths.tail, sessionOptions),
    ort.InferenceSession.create(bundle.paths.full, sessionOptions),
  ]);
  const inSize = m.input.shape.reduce((a, b) => a * b, 1);
  const featShape = m.bottleneck.shape;
  const featSize = featShape.reduce((a, b) => a * b, 1);
  const classes = m.labels.length;
  const bs = options.batchSize ?? 250;
  let correct = 0, splitCorrect = 0, teacherCorrect = 0, exits = 0, exitCorrect = 0, agree = 0, compared = 0;
  let bytesSum = 0, bytesMax = 0;
  try {
    for (let start = 0; start < samples; start += bs) {
      const n = Math.min(bs, samples - start);
      const input = new Float32Array(n * inSize);
      for (let i = 0; i < n; i++) normalizeInto(imageAt(data, start + i), m.input, input, i * inSize);
      const x = new ort.Tensor('float32', input, [n, ...m.input.shape]);
      const h = await head.run({ [m.graphs.head.inputs[0]!.name]: x });
      const f = await full.run({ [m.graphs.full.inputs[0]!.name]: x });
      const features = h[m.bottleneck.headOutput]!.data as Float32Array;
      const decoded = new Float32Array(n * featSize);
      for (let i = 0; i < n; i++) {
        const one = features.subarray(i * featSize, (i + 1) * featSize);
        const enc = encodeFeatures(one, { shape: [1, ...featShape], bits, range: m.bottleneck.range }, options.zstd);
        bytesSum += enc.bytes.length;
        bytesMax = Math.max(bytesMax, enc.bytes.length);
        decodeFeatures(enc.bytes, enc.meta, { zstd: options.zstd, out: decoded.subarray(i * featSize, (i + 1) * featSize) });
      }
      const t = await tail.run({ [m.bottleneck.tailInput]: new ort.Tensor('float32', decoded, [n, ...featShape]) });
      const tailLogits = t[m.graphs.tail.outputs[0]!.name]!.data as Float32Array;
      const fullLogits = f[m.graphs.full.outputs[0]!.name]!.data as Float32Array;
      const exitLogits = exit ? (h[exit.output]!.data as Float32Array) : undefined;
      for (let i = 0; i < n; i++) {
        const label = data.labels[start + i]!;
        const splitPred = argmax(tailLogits, i * classes, classes);
        if (splitPred === label) splitCorrect++;
        if (argmax(fullLogits, i * classes, classes) === label) teacherCorrect++;
        if (golden && start + i < golden.length) {
          compared++;
          if (golden[start + i] === splitPred) agree++;
        }
        const d = exitLogits ? exitDecision(exitLogits, threshold, i * classes, classes) : undefined;
        const pred = d?.take ? d.label : splitPred;
        if (d?.take) {
          exits++;
          if (d.label === label) exitCorrect++;
        }
        if (pred === label) correct++;
      }
    }
  } finally {
    await Promise.all([head.release(), tail.release(), full.release()]);
  }
  return {
    bundle: m.id,
    bits,
    samples,
    accuracy: correct / samples,
    splitAccuracy: splitCorrect / samples,
    teacherAccuracy: teacherCorrect / samples,
    payloadBytesMean: bytesSum / samples,
    payloadBytesMax: bytesMax,
    exitRate: exits / samples,
    exitAccuracy: exits ? exitCorrect / exits : 1,
    threshold,
    agreementWithPyTorch: compared ? agree / compared : null,
    seconds: (performance.now() - t0) / 1000,
  };
}
