/**
 * One cut measured for real, as `offramp split` writes it and `offramp recommend` checks it: the
 * head and tail graphs typed (several cut tensors packed into one bottleneck), head → tail checked
 * equal to the original in float and at batch 2 (the edge batches), ranges calibrated on the first
 * samples, and each rate point's agreement with the original measured on the others, its payload
 * bytes too (zstd-wrapped where smaller, as the SDK sends them).
 */
import * as ort from 'onnxruntime-node';
import type { OutputData } from '../bottleneck/outputs.js';
import { loadZstd } from '../bottleneck/zstd-native.js';
import { OfframpError } from '../protocol/errors.js';
import type { RatePointSpec } from '../protocol/manifest.js';
import { AgreementMeter, type Agreement } from './agreement.js';
import { product } from './data.js';
import { onnx } from './generated/onnx.js';
import { cutModel, setFloatType, writeModel, type Cut, type Model } from './graph.js';
import { openSession, timeSession, type LoadedModel, type Progress } from './model.js';
import { RangeTracker, ratePoint, ratePointSpec, roundTrip, type RateChoice } from './rates.js';

/** The packed bottleneck's name, when a cut has several tensors. */
export const PACKED = 'offramp_bottleneck';

/** One rate point of a measured cut. */
export interface RateResult {
  choice: RateChoice;
  spec: RatePointSpec;
  agreement: Agreement;
  bytes: { mean: number; p99: number; max: number };
  /** Payload bytes of each evaluation sample, in order. */
  perSample: number[];
}

/** A cut measured on real inputs. */
export interface CutMeasurement {
  cut: Cut;
  headBytes: Uint8Array;
  tailBytes: Uint8Array;
  bottleneck: { name: string; shape: number[] };
  /** Largest |head → tail − original| in float over every sample and output. */
  floatMaxAbsDiff: number;
  rates: RateResult[];
  /** Samples the ranges were calibrated on, and the ones agreement was measured on (indices into the set). */
  calibration: [number, number];
  evaluation: [number, number];
  /** Real head and tail sessions on this host, median ms (NaN with `runs: 0`). */
  headMs: number;
  tailMs: number;
}

/** Options of {@link measureCut}. */
export interface MeasureOptions {
  widen?: boolean;
  rates: RateChoice[];
  /** Samples to calibrate ranges on (the first ones); agreement is measured on the rest. Default: half. */
  calibrate?: number;
  /** Timed runs of the head and tail (0: not timed). Default 10. */
  runs?: number;
  onProgress?: Progress;
}

function int64(name: string, values: number[]): onnx.TensorProto {
  return onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], int64Data: values });
}

function node(opType: string, inputs: string[], outputs: string[], axis?: number): onnx.NodeProto {
  const attribute = axis === undefined ? [] : [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis })];
  return onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: `offramp_${opType}_${outputs[0]}`, attribute });
}

/** Packs the head's cut tensors into one [N, total] output and unpacks it at the tail's inputs. */
function pack(head: Model, tail: Model, tensors: string[], shapes: number[][]): void {
  const hg = head.graph!;
  const tg = tail.graph!;
  const flat = tensors.map((t) => `${t}__offramp_flat`);
  hg.node!.push(...tensors.map((t, i) => node('Flatten', [t], [flat[i]!], 1)), node('Concat', flat, [PACKED], 1));
  const sizes = shapes.map(product);
  const total = sizes.reduce((a, b) => a + b, 0);
  const out = onnx.ValueInfoProto.create({ name: PACKED });
  setFloatType(out, ['N', total]);
  hg.output = [out];
  const input = onnx.ValueInfoProto.create({ name: PACKED });
  setFloatType(input, ['N', total]);
  tg.input = [input];
  const unpack: onnx.NodeProto[] = [];
  let offset = 0;
  tensors.forEach((t, i) => {
    const p = `${t}__offramp`;
    (tg.initializer ??= []).push(
      int64(`${p}_starts`, [offset]),
      int64(`${p}_ends`, [offset + sizes[i]!]),
      int64(`${p}_axes`, [1]),
      int64(`${p}_shape`, [-1, ...shapes[i]!]),
    );
    unpack.push(node('Slice', [PACKED, `${p}_starts`, `${p}_ends`, `${p}_axes`], [`${p}_slice`]), node('Reshape', [`${p}_slice`, `${p}_shape`], [t]));
    offset += sizes[i]!;
  });
  tg.node = [...unpack, ...tg.node!];
}

const tensor = (x: Float32Array, shape: readonly number[], n = 1): ort.Tensor => new ort.Tensor('float32', x, [n, ...shape]);

function concat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of xs) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

/** Largest |a − b| over two output lists, and the tolerance that allows (1e-4, relative above 1). */
function diff(want: readonly OutputData[], got: readonly OutputData[]): { max: number; tol: number } {
  let max = 0;
  let scale = 1;
  want.forEach((w, o) => {
    const g = got[o]!;
    for (let i = 0; i < w.length; i++) {
      const a = Number(w[i]!);
      max = Math.max(max, Math.abs(a - Number(g[i]!)));
      scale = Math.max(scale, Math.abs(a));
    }
  });
  return { max, tol: 1e-4 * scale };
}

const outputsOf = (r: ort.InferenceSession.ReturnType, names: readonly string[], from = 0, size?: number): OutputData[] =>
  names.map((n) => {
    const d = r[n]!.data as OutputData;
    const per = size ?? d.length;
    return d.slice(from * per, (from + 1) * per);
  });

/** Names and shapes of both sides of a typed cut: the model's input, the bottleneck, the outputs. */
interface Ports {
  inName: string;
  inShape: number[];
  /** The bottleneck tensor (PACKED when the cut has several) and its per-sample shape. */
  name: string;
  shape: number[];
  outNames: string[];
}

/** Head, tail and the original model, opened. */
interface Sessions {
  head: ort.InferenceSession;
  tail: ort.InferenceSession;
  full: ort.InferenceSession;
}

/** What head → tail in float gave on every sample: the bottleneck features and the original's outputs. */
interface FloatRun {
  features: Float32Array[];
  reference: OutputData[][];
  floatMaxAbsDiff: number;
}

/** Cuts the model at `at` and measures the cut (see the module comment). Throws CUT_INVALID / MODEL_INVALID with what to do. */
export async function measureCut(m: LoadedModel, at: string[], o: MeasureOptions): Promise<CutMeasurement> {
  const progress = o.onProgress ?? (() => {});
  const inputs = m.samples.inputs;
  if (inputs.length < 2) throw new OfframpError('INVALID_ARGUMENT', 'measuring a cut needs at least 2 samples (--samples)');
  const cut = cutModel(m.prepared.model, at, { widen: o.widen });
  const ports = await typeCut(m, cut);
  const headBytes = writeModel(cut.head);
  const tailBytes = writeModel(cut.tail);
  const [head, tail, full] = await Promise.all([openSession(headBytes), openSession(tailBytes), openSession(m.prepared.bytes)]);
  const s: Sessions = { head, tail, full };
  try {
    const run = await runFloat(s, ports, inputs, progress);
    await checkBatches(s, ports, inputs, run);
    const calibrate = Math.max(1, Math.min(inputs.length - 1, o.calibrate ?? Math.floor(inputs.length / 2)));
    const rates = await measureRates(m, s.tail, ports, run, calibrate, o.rates, progress);
    const { headMs, tailMs } = await timeCut(s, ports, inputs, run.features, o.runs ?? 10, progress);
    return {
      cut,
      headBytes,
      tailBytes,
      bottleneck: { name: ports.name, shape: ports.shape },
      floatMaxAbsDiff: run.floatMaxAbsDiff,
      rates,
      calibration: [0, calibrate - 1],
      evaluation: [calibrate, inputs.length - 1],
      headMs,
      tailMs,
    };
  } finally {
    await Promise.all([head.release(), tail.release(), full.release()]);
  }
}

/** The cut tensors' shapes and types from the head as cut; then the ports are typed (packing several). */
async function typeCut(m: LoadedModel, cut: Cut): Promise<Ports> {
  const inName = m.prepared.input.name;
  const inShape = m.prepared.input.sampleShape;
  const probe = await openSession(writeModel(cut.head), 'basic');
  const probed = await probe.run({ [inName]: tensor(m.samples.inputs[0]!, inShape) });
  await probe.release();
  const shapes = cut.tensors.map((t) => {
    const a = probed[t]!;
    if (a.type !== 'float32')
      throw new OfframpError(
        'CUT_INVALID',
        `'${t}' is ${a.type}: a bottleneck carries float32 activations; cut at a float tensor (offramp profile lists them)`,
      );
    if (Number(a.dims[0]) !== 1)
      throw new OfframpError('CUT_INVALID', `'${t}' has shape [${a.dims.join(', ')}] for one sample: a bottleneck keeps the batch dim first`);
    return a.dims.slice(1).map(Number);
  });
  if (cut.tensors.length > 1) pack(cut.head, cut.tail, cut.tensors, shapes);
  else {
    setFloatType(cut.head.graph!.output![0]!, ['N', ...shapes[0]!]);
    setFloatType(cut.tail.graph!.input![0]!, ['N', ...shapes[0]!]);
  }
  const name = cut.tensors.length > 1 ? PACKED : cut.tensors[0]!;
  const shape = cut.tensors.length > 1 ? [shapes.reduce((a, s) => a + product(s), 0)] : shapes[0]!;
  return { inName, inShape, name, shape, outNames: m.outputs.map((d) => d.name) };
}

/** Runs head → tail in float on every sample and checks it reproduces the original model. */
async function runFloat(s: Sessions, p: Ports, inputs: Float32Array[], progress: Progress): Promise<FloatRun> {
  const features: Float32Array[] = [];
  const reference: OutputData[][] = [];
  let floatMaxAbsDiff = 0;
  for (const [i, x] of inputs.entries()) {
    progress('head → tail in float', i, inputs.length);
    const f = (await s.head.run({ [p.inName]: tensor(x, p.inShape) }))[p.name]!.data as Float32Array;
    features.push(f);
    reference.push(outputsOf(await s.full.run({ [p.inName]: tensor(x, p.inShape) }), p.outNames));
    const d = diff(reference[i]!, outputsOf(await s.tail.run({ [p.name]: tensor(f, p.shape) }), p.outNames));
    floatMaxAbsDiff = Math.max(floatMaxAbsDiff, d.max);
    if (d.max > d.tol)
      throw new OfframpError(
        'CUT_INVALID',
        `head then tail differs from the original model by ${d.max.toExponential(2)} on sample ${i} (tolerance ${d.tol.toExponential(1)}): the cut does not reproduce the model`,
      );
  }
  return { features, reference, floatMaxAbsDiff };
}

/** Ranges calibrated on the first `calibrate` samples; each rate point's agreement and payload bytes on the rest. */
async function measureRates(
  m: LoadedModel,
  tail: ort.InferenceSession,
  p: Ports,
  run: FloatRun,
  calibrate: number,
  choices: RateChoice[],
  progress: Progress,
): Promise<RateResult[]> {
  const n = m.samples.inputs.length;
  const tracker = new RangeTracker(p.shape);
  for (let i = 0; i < calibrate; i++) tracker.observe(run.features[i]!);
  const ranges = tracker.ranges();
  const zstd = await loadZstd();
  const rates: RateResult[] = [];
  for (const choice of choices) {
    const rp = ratePoint(choice, ranges);
    const meter = new AgreementMeter(m.outputs.map((d) => d.kind));
    const perSample: number[] = [];
    for (let i = calibrate; i < n; i++) {
      progress(`agreement at ${choice.id}`, i - calibrate, n - calibrate);
      const r = roundTrip(run.features[i]!, p.shape, rp, zstd);
      perSample.push(r.bytes);
      meter.add(run.reference[i]!, outputsOf(await tail.run({ [p.name]: tensor(r.decoded, p.shape) }), p.outNames));
    }
    const bytes = byteStats(perSample);
    const over = `${m.samples.real ? m.samples.source.replace(/ \(.*\)$/, '') : 'seeded noise'} samples ${calibrate}–${n - 1}`;
    rates.push({ choice, spec: ratePointSpec(choice, ranges, { bytes: { ...bytes, over } }), agreement: meter.result(), bytes, perSample });
  }
  return rates;
}

/** Mean, p99 and max of payload sizes. */
function byteStats(perSample: readonly number[]): RateResult['bytes'] {
  const sizes = [...perSample].sort((a, b) => a - b);
  return {
    mean: sizes.reduce((a, b) => a + b, 0) / sizes.length,
    p99: sizes[Math.min(sizes.length - 1, Math.ceil(0.99 * sizes.length) - 1)]!,
    max: sizes[sizes.length - 1]!,
  };
}

/** Median ms of the real head and tail on the first two samples (NaN with `runs: 0`). */
async function timeCut(
  s: Sessions,
  p: Ports,
  inputs: Float32Array[],
  features: Float32Array[],
  runs: number,
  progress: Progress,
): Promise<{ headMs: number; tailMs: number }> {
  if (runs <= 0) return { headMs: NaN, tailMs: NaN };
  progress('timing head and tail', 0, 1);
  const headMs = await timeSession(
    s.head,
    inputs.slice(0, 2).map((x) => ({ [p.inName]: tensor(x, p.inShape) })),
    runs,
  );
  const tailMs = await timeSession(
    s.tail,
    features.slice(0, 2).map((f) => ({ [p.name]: tensor(f, p.shape) })),
    runs,
  );
  progress('timing head and tail', 1, 1);
  return { headMs, tailMs };
}

/** The edge runs batches: the tail and the full model must give each sample of a batch of 2 what they give it alone. */
async function checkBatches(s: Sessions, p: Ports, inputs: Float32Array[], run: FloatRun): Promise<void> {
  const pairs: [string, () => Promise<ort.InferenceSession.ReturnType>][] = [
    ['tail', () => s.tail.run({ [p.name]: tensor(concat(run.features.slice(0, 2)), p.shape, 2) })],
    ['model', () => s.full.run({ [p.inName]: tensor(concat(inputs.slice(0, 2)), p.inShape, 2) })],
  ];
  for (const [what, runBatch] of pairs) {
    let r: ort.InferenceSession.ReturnType;
    try {
      r = await runBatch();
    } catch (e) {
      throw new OfframpError(
        'MODEL_INVALID',
        `the ${what} does not run on a batch of 2 (${(e as Error).message.split('\n')[0]}): the edge batches requests, so the model needs a dynamic batch dim (re-export it with one, e.g. torch.onnx.export(..., dynamic_axes={'input': {0: 'N'}}))`,
        { cause: e },
      );
    }
    for (let i = 0; i < 2; i++) {
      const got = p.outNames.map((n, o) => outputsOf(r, [n], i, run.reference[i]![o]!.length)[0]!);
      const d = diff(run.reference[i]!, got);
      if (d.max > d.tol)
        throw new OfframpError(
          'MODEL_INVALID',
          `the ${what} gives sample ${i} of a batch of 2 other outputs than alone (by ${d.max.toExponential(2)}): the edge batches requests, so the model must treat samples independently (is its batch dim fixed at 1 inside?)`,
        );
    }
  }
}
