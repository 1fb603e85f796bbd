/**
 * Consistency rules a schema cannot express: the bottleneck, exits and outputs name real graph
 * ports with matching shapes, the label count matches every class-logits output, rate point ids
 * are unique and their parameters fit the bottleneck.
 */
import type { Manifest, TensorSpec } from './manifest.js';

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function fmt(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function port(list: readonly TensorSpec[], name: string): TensorSpec | undefined {
  return list.find((t) => t.name === name);
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Problems with a schema-valid manifest's internal consistency (empty when consistent). */
// Long on purpose: a flat list of independent checks in the manifest's own order, each one line or two; read top to bottom, like the schema.
export function manifestProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const { head, tail, full } = m.graphs;
  const classes = m.labels.length;
  const expectPort = (graph: string, list: readonly TensorSpec[], name: string, shape: readonly number[]): void => {
    const p = port(list, name);
    if (!p) problems.push(`graphs.${graph}: has no port named ${JSON.stringify(name)}`);
    else if (!sameDims(p.shape, shape)) problems.push(`graphs.${graph}.${name}: shape ${fmt(p.shape)}, expected ${fmt(shape)}`);
  };
  const batched = (shape: readonly number[]): number[] => [-1, ...shape];
  for (const [g, spec] of [
    ['head', head],
    ['full', full],
  ] as const) {
    if (spec.inputs.length !== 1) problems.push(`graphs.${g}: expected 1 input, found ${spec.inputs.length}`);
    else if (!sameDims(spec.inputs[0]!.shape, batched(m.input.shape))) {
      problems.push(`graphs.${g}.${spec.inputs[0]!.name}: shape ${fmt(spec.inputs[0]!.shape)}, expected ${fmt(batched(m.input.shape))}`);
    }
  }
  expectPort('head', head.outputs, m.bottleneck.headOutput, batched(m.bottleneck.shape));
  expectPort('tail', tail.inputs, m.bottleneck.tailInput, batched(m.bottleneck.shape));
  if (tail.inputs.length !== 1) problems.push(`graphs.tail: expected 1 input (the bottleneck), found ${tail.inputs.length}`);
  m.exits.forEach((e) => expectPort('head', head.outputs, e.output, [-1, classes]));
  const expectedHeadOutputs = 1 + m.exits.length;
  if (head.outputs.length !== expectedHeadOutputs) {
    problems.push(`graphs.head: ${head.outputs.length} outputs, expected ${expectedHeadOutputs} (bottleneck + exits)`);
  }
  // Outputs: the tail and full graphs produce them, in the declared order.
  for (const [g, spec] of [
    ['tail', tail],
    ['full', full],
  ] as const) {
    const names = spec.outputs.map((o) => o.name);
    const want = m.outputs.map((o) => o.name);
    if (names.join('\0') !== want.join('\0')) problems.push(`graphs.${g}: outputs [${names.join(', ')}], but outputs declares [${want.join(', ')}]`);
  }
  m.outputs.forEach((o, i) => {
    // Answers carry per-sample shapes: only the batch dimension may be dynamic.
    const p = port(tail.outputs, o.name);
    if (p && p.shape.slice(1).some((d) => d < 0))
      problems.push(`graphs.tail.${o.name}: shape ${fmt(p.shape)} has a dynamic dimension besides the batch; fix it (offramp split --shape)`);
    if (o.kind !== 'class-logits') return;
    if (p && !sameDims(p.shape, [-1, classes]))
      problems.push(`outputs.${i}: class logits ${o.name} have shape ${fmt(p.shape)}, expected ${fmt([-1, classes])}`);
  });
  if (m.task === 'classification') {
    if (classes < 2) problems.push('labels: a classification bundle needs at least 2 labels');
    if (m.outputs[0]?.kind !== 'class-logits') problems.push('outputs.0: a classification bundle answers from class logits first');
  } else if (m.exits.length > 0) {
    problems.push('exits: only classification bundles have early exits');
  }
  const channels = m.input.shape[m.input.layout === 'NHWC' ? m.input.shape.length - 1 : 0]!;
  const { mean, std } = m.input.normalization;
  if ((mean.length !== 1 && mean.length !== channels) || (std.length !== 1 && std.length !== channels)) {
    problems.push(`input.normalization: mean and std need 1 or ${channels} entries`);
  }
  if (product(m.input.raw.shape) !== product(m.input.shape))
    problems.push(`input.raw: ${product(m.input.raw.shape)} values, but input.shape holds ${product(m.input.shape)}`);
  const ids = new Set<string>();
  const bottleneckChannels = m.bottleneck.shape[0]!;
  m.bottleneck.ratePoints.forEach((rp, i) => {
    if (ids.has(rp.id)) problems.push(`bottleneck.ratePoints.${i}: id ${rp.id} is used twice`);
    ids.add(rp.id);
    if (rp.codec === 'uniform') {
      if (rp.min.length !== rp.max.length || (rp.min.length !== 1 && rp.min.length !== bottleneckChannels)) {
        problems.push(`bottleneck.ratePoints.${i}: min and max need 1 or ${bottleneckChannels} entries`);
      } else if (rp.min.some((lo, c) => !(lo < rp.max[c]!))) problems.push(`bottleneck.ratePoints.${i}: every min must be below its max`);
    }
  });
  if (m.bottleneck.defaultRatePoint >= m.bottleneck.ratePoints.length)
    problems.push(`bottleneck.defaultRatePoint: ${m.bottleneck.defaultRatePoint} is not a rate point`);
  m.exits.forEach((e, i) => {
    const ts = e.thresholds.map((r) => r.threshold);
    if (ts.some((t, j) => j > 0 && t <= ts[j - 1]!)) problems.push(`exits.${i}.thresholds: thresholds must increase`);
    if (!ts.includes(e.recommendedThreshold)) problems.push(`exits.${i}.recommendedThreshold: not a row of the table`);
  });
  if (!m.timingOnly && m.task === 'classification' && m.accuracy === undefined && m.agreement === undefined) {
    problems.push('accuracy: a classification bundle states its accuracy (or its agreement with the original) unless timingOnly');
  }
  return problems;
}

/** Does an onnxruntime dim (number, or string for a symbolic dim) match a manifest dim (-1 = dynamic)? */
export function dimMatches(manifestDim: number, ortDim: number | string): boolean {
  if (manifestDim === -1) return typeof ortDim === 'string' || ortDim === -1;
  return ortDim === manifestDim;
}

export { fmt as formatShape };
