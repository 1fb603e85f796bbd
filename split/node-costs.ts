/**
 * What each node of a model costs, from one profiled onnxruntime session: its time on this host
 * (onnxruntime's own per-node profiler, graph optimisation off so nodes stay the model's) and
 * its multiply-accumulates (Conv, ConvTranspose, MatMul, Gemm, from the shapes the profiler
 * records; other operators count 0). A cut's head then costs the sum over its nodes: every cut
 * of a model priced from one session, instead of two sessions per cut.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { OfframpError } from '../protocol/errors.js';
import { onnx } from './generated/onnx.js';
import { writeModel, type Model } from './graph.js';

/** Per node (by index in the model's graph): median time per run on this host, ms, and MACs per sample. */
export interface NodeCosts {
  ms: number[];
  macs: number[];
  /** Sum of the node times (one run without graph optimisation), ms. */
  totalMs: number;
  runs: number;
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}

const prod = (d: readonly number[]): number => d.reduce((a, b) => a * b, 1);
const dimsOf = (list: Record<string, number[]>[] | undefined, i: number): number[] | undefined => {
  const e = list?.[i];
  return e ? Object.values(e)[0] : undefined;
};

/** MACs of one node at batch 1 from its recorded shapes. */
export function nodeMacs(op: string, node: onnx.INodeProto, ins: Record<string, number[]>[] | undefined, outs: Record<string, number[]>[] | undefined): number {
  const out = dimsOf(outs, 0);
  const a = dimsOf(ins, 0);
  const w = dimsOf(ins, 1);
  if (!out || !a) return 0;
  switch (op) {
    case 'Conv':
      return w ? prod(out) * prod(w.slice(1)) : 0;
    case 'ConvTranspose':
      return w ? prod(a) * prod(w.slice(1)) : 0;
    case 'MatMul':
    case 'FusedMatMul':
      return prod(out) * (a[a.length - 1] ?? 1);
    case 'Gemm': {
      const transA = Number(node.attribute?.find((x) => x.name === 'transA')?.i ?? 0); // int64 attributes decode as Long
      return prod(out) * (transA ? a[0]! : a[a.length - 1]!);
    }
    default:
      return 0;
  }
}

/**
 * Profiles `model` on `input` for `runs` runs (after one warm-up run) and prices every node.
 * The nodes are renamed in a private copy so that profiler events map back to indices.
 */
export async function nodeCosts(model: Model, input: { name: string; data: Float32Array; dims: number[] }, runs: number): Promise<NodeCosts> {
  const copy = onnx.ModelProto.decode(writeModel(model));
  const nodes = copy.graph!.node!;
  nodes.forEach((n, i) => (n.name = `offramp_n${i}`));
  const dir = await mkdtemp(join(tmpdir(), 'offramp-profile-'));
  try {
    const session = await ort.InferenceSession.create(writeModel(copy), {
      graphOptimizationLevel: 'disabled',
      intraOpNumThreads: 1,
      enableProfiling: true,
      profileFilePrefix: join(dir, 'p'),
    });
    const feed = { [input.name]: new ort.Tensor('float32', input.data, input.dims) };
    for (let r = 0; r <= runs; r++) await session.run(feed);
    session.endProfiling();
    await session.release();
    const file = (await readdir(dir)).find((f) => f.endsWith('.json'));
    if (!file) throw new OfframpError('INTERNAL', 'onnxruntime wrote no profile');
    const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as ProfileEvent[];
    const times = nodes.map(() => [] as number[]);
    const macs = nodes.map(() => 0);
    for (const e of events) {
      const m = e.cat === 'Node' ? /^offramp_n(\d+)_kernel_time$/.exec(e.name ?? '') : null;
      if (!m) continue;
      const i = Number(m[1]);
      times[i]!.push((e.dur ?? 0) / 1000);
      if (times[i]!.length === 1) macs[i] = nodeMacs(e.args?.op_name ?? nodes[i]!.opType ?? '', nodes[i]!, e.args?.input_type_shape, e.args?.output_type_shape);
    }
    // The median over runs drops the warm-up run's cold start.
    const ms = times.map((t) => (t.length ? [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]! : 0));
    return { ms, macs, totalMs: ms.reduce((a, b) => a + b, 0), runs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
