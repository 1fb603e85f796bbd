/**
 * Getting any ONNX model ready to be profiled and cut: Constant nodes become initializers (so a
 * weight both halves read is copied, not a tensor the tail must be sent), the input's dynamic
 * dims are fixed (`--shape`, reported), the batch dim becomes the symbolic `N` the edge batches
 * on, and every output is typed with the per-sample dims a probe run measures. Classification
 * models that end in Softmax answer from the logits instead (the edge and the SDK apply the
 * softmax), so `class-logits` holds what its name says.
 */
import * as ort from 'onnxruntime-node';
import { OfframpError } from '../protocol/errors.js';
import { onnx } from './generated/onnx.js';
import { declaredDims, elemType, graphIndex, readModel, setTensorType, writeModel, type Model } from './graph.js';

/** The model's input and outputs once prepared. */
export interface PreparedModel {
  model: Model;
  /** The prepared model's bytes (what full.onnx holds). */
  bytes: Uint8Array;
  input: { name: string; declared: (number | string)[]; sampleShape: number[] };
  outputs: { name: string; dtype: string; sampleShape: number[] }[];
  /** Human-readable notes on what was changed ("x: [?, 3, H, W] → [N, 3, 48, 320]"). */
  fixes: string[];
  /** The Softmax node removed from the end of a classification model, when there was one. */
  softmaxRemoved?: string;
}

/** Options of {@link prepareModel}. */
export interface PrepareOptions {
  /** `--shape`: the input's dims, with or without the batch dim (which is always dynamic). */
  shape?: number[];
  /** The first output holds class scores: a trailing Softmax is removed so it holds logits. */
  classes?: boolean;
}

const ONNX_DTYPE: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16' };
/** Output types an answer can carry (docs/PROTOCOL.md §5.2), as ONNX element types. */
const ORT_DTYPE_TO_ONNX: Record<string, number> = { float32: 1, uint8: 2, int32: 6, int64: 7 };

/** Parses `--shape`: `name=d0,d1,...` or `d0,d1,...` (`x` also separates dims; `N`, `?` or -1 for the batch dim). */
export function parseShape(spec: string): { name?: string; dims: number[] } {
  const eq = spec.lastIndexOf('=');
  const name = eq >= 0 ? spec.slice(0, eq).trim() : undefined;
  const parts = spec
    .slice(eq + 1)
    .split(/[,x×]/)
    .map((s) => s.trim())
    .filter(Boolean);
  const dims = parts.map((p, i) => {
    if (i === 0 && /^(n|N|\?|-1|batch)$/.test(p)) return -1;
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1)
      throw new OfframpError('INVALID_ARGUMENT', `--shape ${spec}: '${p}' is not a positive dimension (write e.g. --shape x=1,3,224,224)`);
    return n;
  });
  if (!dims.length) throw new OfframpError('INVALID_ARGUMENT', `--shape ${spec}: no dims (write e.g. --shape x=1,3,224,224)`);
  return { ...(name ? { name } : {}), dims };
}

const fmt = (dims: readonly (number | string)[]): string => `[${dims.join(', ')}]`;

/** Turns Constant nodes that hold a tensor or numbers into initializers (in place); returns how many. */
export function constantsToInitializers(model: Model): number {
  const g = model.graph!;
  const kept: onnx.INodeProto[] = [];
  let moved = 0;
  for (const n of g.node ?? []) {
    const out = n.output?.[0];
    const a = n.opType === 'Constant' && (n.domain ?? '') === '' && n.attribute?.length === 1 && out ? n.attribute[0]! : undefined;
    let t: onnx.TensorProto | undefined;
    if (a?.name === 'value' && a.t) t = onnx.TensorProto.create({ ...a.t, name: out });
    else if (a?.name === 'value_float') t = onnx.TensorProto.create({ name: out, dataType: 1, dims: [], floatData: [a.f ?? 0] });
    else if (a?.name === 'value_floats') t = onnx.TensorProto.create({ name: out, dataType: 1, dims: [a.floats?.length ?? 0], floatData: a.floats ?? [] });
    else if (a?.name === 'value_int') t = onnx.TensorProto.create({ name: out, dataType: 7, dims: [], int64Data: [a.i ?? 0] });
    else if (a?.name === 'value_ints') t = onnx.TensorProto.create({ name: out, dataType: 7, dims: [a.ints?.length ?? 0], int64Data: a.ints ?? [] });
    if (t && !(g.output ?? []).some((o) => o.name === out)) {
      (g.initializer ??= []).push(t);
      moved++;
    } else kept.push(n);
  }
  g.node = kept;
  return moved;
}

/** The model's one (non-initializer) input; MODEL_INVALID otherwise. */
function soleInput(model: Model): onnx.IValueInfoProto {
  const index = graphIndex(model);
  if (index.inputs.length !== 1) {
    throw new OfframpError(
      'MODEL_INVALID',
      `offramp takes models with one input (a device captures one sample); this one has ${index.inputs.length}: ${index.inputs.map((n) => `'${n}'`).join(', ')}. Export a wrapper model that takes one tensor.`,
    );
  }
  return model.graph!.input!.find((v) => v.name === index.inputs[0])!;
}

/** The input's dims after `--shape`: batch first and dynamic, every other dim fixed. */
function resolveDims(v: onnx.IValueInfoProto, shape: number[] | undefined): { declared: (number | string)[]; sample: number[] } {
  const name = v.name ?? '';
  const declared = declaredDims(v);
  if (!declared) {
    if (!shape) throw new OfframpError('MODEL_INVALID', `input '${name}' declares no shape: give it with --shape ${name}=1,<dims...>`);
    return { declared: [], sample: shape.slice(1) };
  }
  const dyn = (d: number | string): boolean => typeof d === 'string' || d < 1;
  if (!shape) {
    const unknown = declared.slice(1).some(dyn);
    if (unknown) {
      const example = declared.map((d, i) => (i === 0 ? 1 : dyn(d) ? `<${typeof d === 'string' && d !== '?' ? d.replace(/^.*\./, '') : 'dim'}>` : d)).join(',');
      throw new OfframpError(
        'MODEL_INVALID',
        `input '${name}' has dynamic dims ${fmt(declared)}: fix them with --shape ${name}=${example} (the sample size the device will capture)`,
      );
    }
    if (declared.length < 2)
      throw new OfframpError('MODEL_INVALID', `input '${name}' has shape ${fmt(declared)}: offramp needs a batch dim first, then the sample's dims`);
    return { declared, sample: declared.slice(1) as number[] };
  }
  const full = shape.length === declared.length ? shape : shape.length === declared.length - 1 ? [-1, ...shape] : undefined;
  if (!full)
    throw new OfframpError(
      'INVALID_ARGUMENT',
      `--shape gives ${shape.length} dims; input '${name}' has ${declared.length} (${fmt(declared)}): give them all, batch first`,
    );
  full.forEach((d, i) => {
    const want = declared[i]!;
    if (i > 0 && !dyn(want) && want !== d) {
      const read = shape.length < declared.length ? " (read as the sample's dims, without the batch dim)" : '';
      throw new OfframpError(
        'INVALID_ARGUMENT',
        `--shape ${fmt(shape)}${read} sets dim ${i} of '${name}' to ${d}, but the model fixes it at ${want} (${fmt(declared)})`,
      );
    }
  });
  return { declared, sample: full.slice(1) };
}

/** Removes the Softmax that produces `output` (its input takes the output's name); its node name, or undefined when there is none. */
export function removeFinalSoftmax(model: Model, output: string): string | undefined {
  const g = model.graph!;
  const i = (g.node ?? []).findIndex((n) => n.output?.includes(output));
  const n = g.node?.[i];
  if (!n || n.opType !== 'Softmax' || (n.domain ?? '') !== '') return undefined;
  const attr = n.attribute?.find((a) => a.name === 'axis');
  const axis = attr ? Number(attr.i) : opset(model) >= 13 ? -1 : 1; // int64 attributes decode as Long
  if (axis !== -1 && axis !== 1) return undefined; // only over the class dim of [N, classes]
  const logits = n.input![0]!;
  if ((g.output ?? []).some((o) => o.name === logits) || g.input?.some((v) => v.name === logits)) return undefined;
  g.node!.splice(i, 1);
  for (const m of g.node!) m.input = (m.input ?? []).map((t) => (t === logits ? output : t));
  for (const m of g.node!) m.output = (m.output ?? []).map((t) => (t === logits ? output : t));
  g.valueInfo = (g.valueInfo ?? []).filter((v) => v.name !== logits);
  return n.name || 'Softmax';
}

function opset(model: Model): number {
  return Number(model.opsetImport?.find((o) => (o.domain ?? '') === '')?.version ?? 0);
}

/**
 * Reads, normalises and types a model (see the module comment). Throws MODEL_INVALID or
 * INVALID_ARGUMENT with what to do.
 */
export async function prepareModel(bytes: Uint8Array, o: PrepareOptions = {}): Promise<PreparedModel> {
  const model = readModel(bytes);
  const fixes: string[] = [];
  const moved = constantsToInitializers(model);
  if (moved) fixes.push(`${moved} Constant nodes became initializers`);
  const input = soleInput(model);
  const name = input.name ?? '';
  const et = elemType(input);
  if (et !== 1)
    throw new OfframpError(
      'MODEL_INVALID',
      `input '${name}' is ${ONNX_DTYPE[et] ?? `type ${et}`}; offramp feeds float32 (the SDK normalises raw samples): export the model with a float32 input`,
    );
  const { declared, sample } = resolveDims(input, o.shape);
  setTensorType(input, 1, ['N', ...sample]);
  const after = ['N', ...sample];
  if (fmt(declared) !== fmt(after)) fixes.push(`input '${name}': ${fmt(declared.length ? declared : ['?'])} → ${fmt(after)}`);
  let softmaxRemoved: string | undefined;
  if (o.classes) {
    softmaxRemoved = removeFinalSoftmax(model, model.graph!.output![0]!.name ?? '');
    if (softmaxRemoved)
      fixes.push(`removed the final Softmax '${softmaxRemoved}': the bundle answers from logits, and answers apply the softmax (same probabilities)`);
  }
  // Probe once at batch 1 for the outputs' dims and types.
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(writeModel(model), { graphOptimizationLevel: 'basic', intraOpNumThreads: 1 });
  } catch (e) {
    throw new OfframpError('MODEL_INVALID', `onnxruntime cannot open the model with input '${name}' ${fmt(after)}: ${(e as Error).message}`, { cause: e });
  }
  let out: ort.InferenceSession.ReturnType;
  try {
    out = await session.run({ [name]: new ort.Tensor('float32', new Float32Array(sample.reduce((a, b) => a * b, 1)), [1, ...sample]) });
  } catch (e) {
    throw new OfframpError(
      'MODEL_INVALID',
      `the model does not run on input '${name}' ${fmt([1, ...sample])}: ${(e as Error).message.split('\n')[0]} (is --shape right?)`,
      { cause: e },
    );
  } finally {
    await session.release();
  }
  const outputs = (model.graph!.output ?? []).map((v) => {
    const t = out[v.name ?? '']!;
    const dims = t.dims.map(Number);
    if (dims[0] !== 1)
      throw new OfframpError('MODEL_INVALID', `output '${v.name}' has shape ${fmt(dims)} for one sample: offramp needs outputs with the batch dim first`);
    const code = ORT_DTYPE_TO_ONNX[t.type];
    if (code === undefined)
      throw new OfframpError('MODEL_INVALID', `output '${v.name}' is ${t.type}, which answers cannot carry (float32, int32, int64, uint8 can)`);
    setTensorType(v, code, ['N', ...dims.slice(1)]);
    return { name: v.name ?? '', dtype: t.type, sampleShape: dims.slice(1) };
  });
  return { model, bytes: writeModel(model), input: { name, declared, sampleShape: sample }, outputs, fixes, ...(softmaxRemoved ? { softmaxRemoved } : {}) };
}
