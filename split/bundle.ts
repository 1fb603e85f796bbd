/**
 * `offramp split`: an ONNX model cut at the given tensors, written as a normal bundle (head, tail,
 * the original as full, manifest with hashes) that `offramp serve` and the device SDK run
 * unchanged. No trained bottleneck and no exits: the cut tensor is quantized at 8 or 4 bits with
 * a range calibrated on sample inputs. A multi-tensor cut is packed into one bottleneck tensor
 * (Flatten + Concat in the head, Slice + Reshape in the tail). Verified before it is written:
 * head then tail must equal the original model (atol 1e-4 in float).
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeFeatures, encodeFeatures } from '../bottleneck/codec.js';
import { loadBundle, sha256Hex } from '../protocol/bundle.js';
import { OfframpError } from '../protocol/errors.js';
import type { Manifest } from '../protocol/manifest.js';
import { packedByteLength } from '../protocol/messages.js';
import { argmax } from '../protocol/scores.js';
import { readIdx } from '../head/datasets/idx.js';
import { seededSamples } from '../head/datasets/synthetic.js';
import { onnx } from './generated/onnx.js';
import { cutModel, declaredDims, graphIndex, readModel, setFloatType, writeModel, type Model } from './graph.js';

export interface SplitOptions {
  /** The ONNX file. */
  model: string;
  /** Tensors to cut at. */
  at: string[];
  out: string;
  /** Add what the tail still needs to the cut instead of refusing. */
  widen?: boolean;
  /** Number of calibration samples (default 64). */
  calibrate?: number;
  /** An IDX file (optionally .gz) of uint8 samples to calibrate on; default: seeded random uint8. */
  data?: string;
  /** Raw uint8 → model input: x · scale (default 1/255), then (x − mean) / std (defaults 0, 1). */
  scale?: number;
  mean?: number[];
  std?: number[];
  id?: string;
  version?: string;
  /** Bit widths the bundle offers (default 8 and 4). */
  bits?: number[];
}

export interface SplitReport {
  bundle: string;
  cut: string[];
  widened: boolean;
  bottleneck: { name: string; shape: number[]; range: { min: number; max: number }; rawBytes: number };
  headNodes: number;
  tailNodes: number;
  samples: number;
  /** Largest |head→tail − original| over the samples and outputs, float. */
  maxAbsDiff: number;
  /** Share of samples whose argmax after quantization at each width equals the original's. */
  agreementByBits: Record<string, number>;
  payloadBytes: Record<string, number>;
}

const BOTTLENECK = 'offramp_bottleneck';

/** Seeded uint8 samples (xorshift32), or the first `n` of an IDX file. */
export async function calibrationSamples(size: number, n: number, data?: string): Promise<Uint8Array[]> {
  if (data) {
    const idx = await readIdx(data);
    const per = idx.dims.slice(1).reduce((a, b) => a * b, 1);
    if (per !== size) throw new RangeError(`${data}: samples hold ${per} values; the model's input holds ${size}`);
    return Array.from({ length: Math.min(n, idx.dims[0]!) }, (_, i) => idx.data.subarray(i * size, (i + 1) * size));
  }
  return seededSamples(size, n);
}

function int64Initializer(name: string, values: number[]): onnx.TensorProto {
  return onnx.TensorProto.create({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], int64Data: values });
}

function node(opType: string, inputs: string[], outputs: string[], attrs: onnx.IAttributeProto[] = []): onnx.NodeProto {
  return onnx.NodeProto.create({ opType, input: inputs, output: outputs, name: `offramp_${opType}_${outputs[0]}`, attribute: attrs });
}

/** Packs the head's cut tensors into one [N, total] output and unpacks it at the tail's inputs. */
function pack(head: Model, tail: Model, tensors: string[], shapes: number[][]): void {
  const hg = head.graph!;
  const tg = tail.graph!;
  const flat = tensors.map((t) => `${t}__offramp_flat`);
  hg.node!.push(...tensors.map((t, i) => node('Flatten', [t], [flat[i]!], [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })])));
  hg.node!.push(node('Concat', flat, [BOTTLENECK], [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 })]));
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const out = onnx.ValueInfoProto.create({ name: BOTTLENECK });
  setFloatType(out, ['N', total]);
  hg.output = [out];
  const input = onnx.ValueInfoProto.create({ name: BOTTLENECK });
  setFloatType(input, ['N', total]);
  tg.input = [input];
  const unpack: onnx.NodeProto[] = [];
  let offset = 0;
  tensors.forEach((t, i) => {
    const p = `${t}__offramp`;
    tg.initializer!.push(int64Initializer(`${p}_starts`, [offset]), int64Initializer(`${p}_ends`, [offset + sizes[i]!]), int64Initializer(`${p}_axes`, [1]), int64Initializer(`${p}_shape`, [-1, ...shapes[i]!]));
    unpack.push(node('Slice', [BOTTLENECK, `${p}_starts`, `${p}_ends`, `${p}_axes`], [`${p}_slice`]), node('Reshape', [`${p}_slice`, `${p}_shape`], [t]));
    offset += sizes[i]!;
  });
  tg.node = [...unpack, ...tg.node!];
}

async function session(model: Model | Uint8Array): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : writeModel(model);
  try {
    return await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  } catch (e) {
    throw new OfframpError('MODEL_INVALID', `onnxruntime cannot open the graph: ${(e as Error).message}`, { cause: e });
  }
}

function tensorSpec(name: string, dims: readonly (number | string)[]): Manifest['graphs']['head']['inputs'][number] {
  return { name, dtype: 'float32', shape: dims.map((d) => (typeof d === 'number' ? d : -1)) };
}

/** Cuts, verifies and writes the bundle; returns what it measured. */
export async function splitToBundle(o: SplitOptions): Promise<SplitReport> {
  const original = await readFile(o.model);
  const model = readModel(original);
  const index = graphIndex(model);
  if (index.inputs.length !== 1 || index.outputs.length !== 1) throw new OfframpError('MODEL_INVALID', `offramp split takes models with one input and one output (logits); this one has ${index.inputs.length} and ${index.outputs.length}`);
  const g = model.graph!;
  const inputInfo = g.input!.find((v) => v.name === index.inputs[0]);
  const inDims = declaredDims(inputInfo);
  if (!inDims || inDims.slice(1).some((d) => typeof d !== 'number')) throw new OfframpError('MODEL_INVALID', `input '${index.inputs[0]}' needs a declared shape with fixed per-sample dims, got [${(inDims ?? []).join(', ')}]`);
  const sampleShape = inDims.slice(1) as number[];
  const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
  const cut = cutModel(model, o.at, { widen: o.widen });
  const scale = o.scale ?? 1 / 255;
  const mean = o.mean ?? [0];
  const std = o.std ?? [1];
  const samples = await calibrationSamples(sampleSize, o.calibrate ?? 64, o.data);
  const channels = sampleShape[0] ?? 1;
  const plane = sampleSize / channels;
  const toInput = (raw: Uint8Array): Float32Array => Float32Array.from(raw, (v, i) => {
    const c = Math.floor(i / plane);
    return (v * scale - mean[mean.length === 1 ? 0 : c]!) / std[std.length === 1 ? 0 : c]!;
  });
  const inputs = samples.map(toInput);
  const inName = index.inputs[0]!;
  const outName = index.outputs[0]!;
  const feed = (name: string, x: Float32Array, shape: readonly number[]): Record<string, ort.Tensor> => ({ [name]: new ort.Tensor('float32', x, [1, ...shape]) });

  // Learn the cut tensors' shapes from the head as cut, then type the ports (packing several).
  const probe = await session(cut.head);
  const probeOut = await probe.run(feed(inName, inputs[0]!, sampleShape));
  await probe.release();
  const shapes = cut.tensors.map((t) => probeOut[t]!.dims.slice(1).map(Number));
  if (cut.tensors.length > 1) pack(cut.head, cut.tail, cut.tensors, shapes);
  else {
    setFloatType(cut.head.graph!.output![0]!, ['N', ...shapes[0]!]);
    setFloatType(cut.tail.graph!.input![0]!, ['N', ...shapes[0]!]);
  }
  const bottleneck = cut.tensors.length > 1 ? BOTTLENECK : cut.tensors[0]!;
  const bShape = cut.tensors.length > 1 ? [shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0)] : shapes[0]!;
  const headBytes = writeModel(cut.head);
  const tailBytes = writeModel(cut.tail);
  const [head, tail, full] = await Promise.all([session(headBytes), session(tailBytes), session(original)]);
  try {
    // Calibrate the range, then verify head → tail against the original, in float and quantized.
    const features: Float32Array[] = [];
    const reference: Float32Array[] = [];
    let min = Infinity;
    let max = -Infinity;
    for (const x of inputs) {
      const f = (await head.run(feed(inName, x, sampleShape)))[bottleneck]!.data as Float32Array;
      features.push(f);
      for (const v of f) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      reference.push((await full.run(feed(inName, x, sampleShape)))[outName]!.data as Float32Array);
    }
    if (!(max > min)) max = min + 1;
    const bits = o.bits ?? [8, 4];
    let maxAbsDiff = 0;
    const agree: Record<string, number> = Object.fromEntries(bits.map((b) => [String(b), 0]));
    for (let i = 0; i < inputs.length; i++) {
      const y = (await tail.run(feed(bottleneck, features[i]!, bShape)))[outName]!.data as Float32Array;
      for (let j = 0; j < y.length; j++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(y[j]! - reference[i]![j]!));
      for (const b of bits) {
        const enc = encodeFeatures(features[i]!, { shape: [1, ...bShape], bits: b, range: { min, max } });
        const q = (await tail.run(feed(bottleneck, decodeFeatures(enc.bytes, enc.meta), bShape)))[outName]!.data as Float32Array;
        if (argmax(q) === argmax(reference[i]!)) agree[String(b)]!++;
      }
    }
    if (!(maxAbsDiff <= 1e-4)) throw new OfframpError('CUT_INVALID', `head then tail differs from the original model by ${maxAbsDiff} (> 1e-4)`);
    for (const b of bits) agree[String(b)]! /= inputs.length;
    const classes = Number(reference[0]!.length);
    await mkdir(o.out, { recursive: true });
    await Promise.all([writeFile(join(o.out, 'head.onnx'), headBytes), writeFile(join(o.out, 'tail.onnx'), tailBytes), copyFile(o.model, join(o.out, 'full.onnx'))]);
    const payloadBytes = Object.fromEntries(bits.map((b) => [String(b), packedByteLength(bShape.reduce((a, x) => a * x, 1), b)]));
    const batched = (dims: readonly number[]): number[] => [-1, ...dims];
    const manifest = {
      schemaVersion: 1,
      id: o.id ?? slug(basename(o.out)),
      version: o.version ?? '1.0.0',
      task: 'classification',
      labels: Array.from({ length: classes }, (_, i) => String(i)),
      timingOnly: true,
      input: { shape: sampleShape, layout: sampleShape.length === 3 ? 'NCHW' : 'NC', normalization: { scale, mean, std }, raw: { dtype: 'uint8', shape: sampleShape } },
      bottleneck: { headOutput: bottleneck, tailInput: bottleneck, shape: bShape, range: { min, max }, bits, payloadBytes },
      exits: [],
      graphs: {
        head: { file: 'head.onnx', sha256: sha256Hex(headBytes), inputs: [tensorSpec(inName, batched(sampleShape))], outputs: [tensorSpec(bottleneck, batched(bShape))] },
        tail: { file: 'tail.onnx', sha256: sha256Hex(tailBytes), inputs: [tensorSpec(bottleneck, batched(bShape))], outputs: [tensorSpec(outName, [-1, classes])] },
        full: { file: 'full.onnx', sha256: sha256Hex(original), inputs: [tensorSpec(inName, batched(sampleShape))], outputs: [tensorSpec(outName, [-1, classes])] },
      },
      provenance: {
        tool: 'offramp split', dataset: o.data ? `calibration: first ${inputs.length} samples of ${basename(o.data)}` : `calibration: ${inputs.length} seeded random uint8 samples`,
        seed: 0, commit: '', createdAt: new Date().toISOString(),
        config: { model: basename(o.model), at: o.at, cut: cut.tensors, widen: Boolean(o.widen), bits },
      },
    };
    await writeFile(join(o.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await loadBundle(o.out); // the same checks serve and the SDK apply (schema, hashes, ports)
    return {
      bundle: o.out, cut: cut.tensors, widened: cut.tensors.length > o.at.length,
      bottleneck: { name: bottleneck, shape: bShape, range: { min, max }, rawBytes: 4 * bShape.reduce((a, x) => a * x, 1) },
      headNodes: cut.headNodes, tailNodes: cut.tailNodes, samples: inputs.length, maxAbsDiff, agreementByBits: agree, payloadBytes,
    };
  } finally {
    await Promise.all([head.release(), tail.release(), full.release()]);
  }
}

function slug(s: string): string {
  const out = s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);
  return out || 'split';
}
