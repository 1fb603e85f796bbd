/**
 * Cutting an ONNX graph (any DAG, skip connections included) into a head and a tail.
 *
 * The head is every node needed to compute the cut tensors from the graph inputs; the tail is
 * every other node, reading the cut tensors as its inputs. A cut separates the graph when the
 * tail needs nothing else the head computes (and no graph input): otherwise it is refused with
 * the missing tensors named, or widened to include them. ONNX is parsed and written with the
 * official onnx.proto compiled by protobufjs (split/generated), never by hand.
 */
import { OfframpError } from '../protocol/errors.js';
import { onnx } from './generated/onnx.js';

/** A decoded ONNX model. */
export type Model = onnx.ModelProto;

/** Decodes an ONNX file; MODEL_INVALID when it is not one. */
export function readModel(bytes: Uint8Array): Model {
  let model: Model;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OfframpError('MODEL_INVALID', `not an ONNX model: ${(e as Error).message}`, { cause: e });
  }
  const g = model.graph;
  if (!g || !g.node?.length) throw new OfframpError('MODEL_INVALID', 'not an ONNX model: it has no graph or no nodes');
  if (!model.opsetImport?.length) throw new OfframpError('MODEL_INVALID', 'not an ONNX model: it imports no operator set');
  graphIndex(model); // every input of every node must come from somewhere
  return model;
}

/** Encodes a model. */
export function writeModel(model: Model): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Who produces and who consumes each tensor, and the nodes in topological order. */
export interface GraphIndex {
  /** Node index producing each tensor (absent for graph inputs and initializers). */
  producer: Map<string, number>;
  initializers: Set<string>;
  /** Graph inputs that are not initializers. */
  inputs: string[];
  outputs: string[];
  /** Node indices in a topological order. */
  order: number[];
}

/** Indexes a model's graph; MODEL_INVALID when a node reads a tensor nothing provides, or the graph has a cycle. */
export function graphIndex(model: Model): GraphIndex {
  const g = model.graph!;
  const nodes = g.node ?? [];
  const initializers = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  for (const t of g.sparseInitializer ?? []) initializers.add(t.values?.name ?? '');
  const inputs = (g.input ?? []).map((v) => v.name ?? '').filter((n) => !initializers.has(n));
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o) producer.set(o, i);
  });
  const known = (t: string): boolean => t === '' || producer.has(t) || initializers.has(t) || inputs.includes(t);
  nodes.forEach((n, i) => {
    for (const t of n.input ?? [])
      if (!known(t))
        throw new OfframpError('MODEL_INVALID', `node ${i} (${n.opType ?? '?'} '${n.name ?? ''}') reads '${t}', which no node, input or initializer provides`);
  });
  for (const o of g.output ?? []) if (!known(o.name ?? '')) throw new OfframpError('MODEL_INVALID', `graph output '${o.name ?? ''}' is produced by nothing`);
  // Kahn's algorithm, keeping the file's order among ready nodes (files are usually sorted already).
  const indegree = nodes.map((n) => new Set((n.input ?? []).filter((t) => producer.has(t)).map((t) => producer.get(t)!)).size);
  const users = nodes.map(() => [] as number[]);
  nodes.forEach((n, i) => {
    for (const p of new Set((n.input ?? []).filter((t) => producer.has(t)).map((t) => producer.get(t)!))) users[p]!.push(i);
  });
  const ready = indegree.map((d, i) => (d === 0 ? i : -1)).filter((i) => i >= 0);
  const order: number[] = [];
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    order.push(i);
    for (const u of users[i]!) if (--indegree[u]! === 0) ready.push(u);
  }
  if (order.length !== nodes.length) throw new OfframpError('MODEL_INVALID', 'the graph has a cycle');
  return { producer, initializers, inputs, outputs: (g.output ?? []).map((o) => o.name ?? ''), order };
}

/** Node indices needed to compute `tensors` (the backward closure). */
export function ancestors(model: Model, index: GraphIndex, tensors: readonly string[]): Set<number> {
  const nodes = model.graph!.node!;
  const seen = new Set<number>();
  const stack = tensors.map((t) => index.producer.get(t)).filter((i): i is number => i !== undefined);
  while (stack.length) {
    const i = stack.pop()!;
    if (seen.has(i)) continue;
    seen.add(i);
    for (const t of nodes[i]!.input ?? []) {
      const p = index.producer.get(t);
      if (p !== undefined && !seen.has(p)) stack.push(p);
    }
  }
  return seen;
}

/** What the tail would still need from the head (beyond the cut) for this cut; empty when it separates. */
export function missingForCut(model: Model, index: GraphIndex, cut: readonly string[], head = ancestors(model, index, cut)): string[] {
  const nodes = model.graph!.node!;
  const cutSet = new Set(cut);
  const missing = new Set<string>();
  const need = (t: string): void => {
    if (t === '' || cutSet.has(t) || index.initializers.has(t)) return;
    const p = index.producer.get(t);
    if (p === undefined || head.has(p)) missing.add(t); // a graph input, or something only the head computes
  };
  nodes.forEach((n, i) => {
    if (!head.has(i)) for (const t of n.input ?? []) need(t);
  });
  for (const o of index.outputs) need(o);
  return [...missing];
}

/** A model cut in two. */
export interface Cut {
  head: Model;
  tail: Model;
  /** The cut tensors in order (widened ones appended). */
  tensors: string[];
  headNodes: number;
  tailNodes: number;
}

/**
 * Cuts `model` at `tensors`. A cut that does not separate the graph throws CUT_INVALID naming the
 * missing tensors, unless `widen`, which adds every missing tensor the head computes to the cut
 * (a graph input the tail needs cannot be widened to).
 */
export function cutModel(model: Model, tensors: readonly string[], opts: { widen?: boolean } = {}): Cut {
  const index = graphIndex(model);
  checkCutTensors(index, tensors);
  const { cut, head } = separate(model, index, tensors, opts.widen ?? false);
  const g = model.graph!;
  const nodes = g.node!;
  const headList = index.order.filter((i) => head.has(i));
  const tailList = index.order.filter((i) => !head.has(i));
  if (tailList.length === 0) throw new OfframpError('CUT_INVALID', `the cut at ${cut.map((t) => `'${t}'`).join(', ')} leaves nothing for the tail`);
  const valueInfo = (t: string): onnx.IValueInfoProto =>
    g.valueInfo?.find((v) => v.name === t) ?? g.output?.find((v) => v.name === t) ?? onnx.ValueInfoProto.create({ name: t });
  const headInputs = (g.input ?? []).filter((v) => !index.initializers.has(v.name ?? '') && headList.some((i) => nodes[i]!.input?.includes(v.name ?? '')));
  const cutInfo = cut.map(valueInfo);
  return {
    head: subModel(model, headList, headInputs, cutInfo, 'head'),
    tail: subModel(model, tailList, cutInfo, g.output ?? [], 'tail'),
    tensors: cut,
    headNodes: headList.length,
    tailNodes: tailList.length,
  };
}

/** CUT_INVALID unless `tensors` is a non-empty list of tensors that nodes compute. */
function checkCutTensors(index: GraphIndex, tensors: readonly string[]): void {
  if (tensors.length === 0) throw new OfframpError('CUT_INVALID', 'name at least one tensor to cut at');
  for (const t of tensors) {
    if (!index.producer.has(t))
      throw new OfframpError(
        'CUT_INVALID',
        index.inputs.includes(t) || index.initializers.has(t)
          ? `'${t}' is a graph input or initializer, not a tensor a node computes`
          : `no node computes a tensor named '${t}'`,
      );
  }
}

/** The cut (widened until it separates the graph, when `widen`) and its head's nodes; CUT_INVALID naming what the tail still needs otherwise. */
function separate(model: Model, index: GraphIndex, tensors: readonly string[], widen: boolean): { cut: string[]; head: Set<number> } {
  const cut = [...tensors];
  let head = ancestors(model, index, cut);
  for (;;) {
    const missing = missingForCut(model, index, cut, head);
    if (missing.length === 0) return { cut, head };
    const inputs = missing.filter((t) => !index.producer.has(t));
    if (!widen || inputs.length) {
      const why = inputs.length
        ? ` (graph input${inputs.length > 1 ? 's' : ''} ${inputs.map((t) => `'${t}'`).join(', ')} cannot be widened to)`
        : '; --widen adds them to the cut';
      throw new OfframpError(
        'CUT_INVALID',
        `the cut at ${cut.map((t) => `'${t}'`).join(', ')} does not separate the graph: the tail also needs ${missing.map((t) => `'${t}'`).join(', ')}${why}`,
      );
    }
    cut.push(...missing);
    head = ancestors(model, index, cut);
  }
}

/** A model of the nodes in `list` (in that order) with these inputs and outputs, keeping only the initializers and value infos they use. */
function subModel(model: Model, list: number[], inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[], name: string): Model {
  const g = model.graph!;
  const nodes = g.node!;
  const used = new Set<string>();
  for (const i of list) for (const t of [...(nodes[i]!.input ?? []), ...(nodes[i]!.output ?? [])]) used.add(t);
  for (const o of outputs) used.add(o.name ?? '');
  return onnx.ModelProto.create({
    ...model,
    graph: onnx.GraphProto.create({
      name: `${g.name ?? 'graph'}_${name}`,
      node: list.map((i) => nodes[i]!),
      initializer: (g.initializer ?? []).filter((t) => used.has(t.name ?? '')),
      sparseInitializer: (g.sparseInitializer ?? []).filter((t) => used.has(t.values?.name ?? '')),
      input: inputs,
      output: outputs,
      valueInfo: (g.valueInfo ?? []).filter((v) => used.has(v.name ?? '') && !inputs.some((x) => x.name === v.name) && !outputs.some((x) => x.name === v.name)),
      docString: g.docString ?? '',
    }),
  });
}

/**
 * The single-tensor cuts that separate the graph (the graph's articulation points), in
 * topological order: tensors a node computes, not graph outputs, whose cut needs nothing else.
 */
export function candidateCuts(model: Model): string[] {
  const index = graphIndex(model);
  const nodes = model.graph!.node!;
  const outputs = new Set(index.outputs);
  const out: string[] = [];
  for (const i of index.order) {
    for (const t of nodes[i]!.output ?? []) {
      if (!t || outputs.has(t)) continue;
      const head = ancestors(model, index, [t]);
      if (head.size < nodes.length && missingForCut(model, index, [t], head).length === 0) out.push(t);
    }
  }
  return out;
}

/** Sets a value's type to a tensor of `elemType` (an onnx.TensorProto.DataType) with these dims (a string for a symbolic dim). */
export function setTensorType(v: onnx.IValueInfoProto, elemType: number, dims: readonly (number | string)[]): void {
  v.type = onnx.TypeProto.create({
    tensorType: onnx.TypeProto.Tensor.create({
      elemType,
      shape: onnx.TensorShapeProto.create({
        dim: dims.map((d) =>
          typeof d === 'string' ? onnx.TensorShapeProto.Dimension.create({ dimParam: d }) : onnx.TensorShapeProto.Dimension.create({ dimValue: d }),
        ),
      }),
    }),
  });
}

/** Sets a value's type to float32 with these dims (a string for a symbolic dim). */
export function setFloatType(v: onnx.IValueInfoProto, dims: readonly (number | string)[]): void {
  setTensorType(v, onnx.TensorProto.DataType.FLOAT, dims);
}

/** A graph value's element type (an onnx.TensorProto.DataType; 0 when unknown). */
export function elemType(v: onnx.IValueInfoProto | undefined): number {
  return v?.type?.tensorType?.elemType ?? 0;
}

/** A graph value's declared dims (strings for symbolic ones, null when unknown). */
export function declaredDims(v: onnx.IValueInfoProto | undefined): (number | string)[] | null {
  const dims = v?.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  return dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? Number(d.dimValue) : '?'));
}
