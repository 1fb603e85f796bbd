/**
 * Consistency rules a schema cannot express: the bottleneck and exits name real graph ports with
 * matching shapes, and the label count matches every classifier output.
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

/** Problems with a schema-valid manifest's internal consistency (empty when consistent). */
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
  if (head.inputs.length !== 1) problems.push(`graphs.head: expected 1 input, found ${head.inputs.length}`);
  else if (!sameDims(head.inputs[0]!.shape, batched(m.input.shape))) {
    problems.push(`graphs.head.${head.inputs[0]!.name}: shape ${fmt(head.inputs[0]!.shape)}, expected ${fmt(batched(m.input.shape))}`);
  }
  if (full.inputs.length !== 1) problems.push(`graphs.full: expected 1 input, found ${full.inputs.length}`);
  else if (!sameDims(full.inputs[0]!.shape, batched(m.input.shape))) {
    problems.push(`graphs.full.${full.inputs[0]!.name}: shape ${fmt(full.inputs[0]!.shape)}, expected ${fmt(batched(m.input.shape))}`);
  }
  expectPort('head', head.outputs, m.bottleneck.headOutput, batched(m.bottleneck.shape));
  expectPort('tail', tail.inputs, m.bottleneck.tailInput, batched(m.bottleneck.shape));
  m.exits.forEach((e) => expectPort('head', head.outputs, e.output, [-1, classes]));
  for (const [graph, spec] of [['tail', tail], ['full', full]] as const) {
    if (spec.outputs.length !== 1) problems.push(`graphs.${graph}: expected 1 output (logits), found ${spec.outputs.length}`);
    else if (!sameDims(spec.outputs[0]!.shape, [-1, classes])) {
      problems.push(`graphs.${graph}.${spec.outputs[0]!.name}: shape ${fmt(spec.outputs[0]!.shape)}, expected ${fmt([-1, classes])}`);
    }
  }
  const expectedHeadOutputs = 1 + m.exits.length;
  if (head.outputs.length !== expectedHeadOutputs) {
    problems.push(`graphs.head: ${head.outputs.length} outputs, expected ${expectedHeadOutputs} (bottleneck + exits)`);
  }
  const channels = m.input.shape[0]!;
  const { mean, std } = m.input.normalization;
  if ((mean.length !== 1 && mean.length !== channels) || (std.length !== 1 && std.length !== channels)) {
    problems.push(`input.normalization: mean and std need 1 or ${channels} entries`);
  }
  const rawSize = m.input.raw.shape.reduce((a, b) => a * b, 1);
  const inSize = m.input.shape.reduce((a, b) => a * b, 1);
  if (rawSize !== inSize) problems.push(`input.raw: ${rawSize} values, but input.shape holds ${inSize}`);
  m.exits.forEach((e, i) => {
    const ts = e.thresholds.map((r) => r.threshold);
    if (ts.some((t, j) => j > 0 && t <= ts[j - 1]!)) problems.push(`exits.${i}.thresholds: thresholds must increase`);
    if (!ts.includes(e.recommendedThreshold)) problems.push(`exits.${i}.recommendedThreshold: not a row of the table`);
  });
  if (!m.timingOnly && (m.accuracy === undefined || m.bottleneck.accuracy === undefined)) {
    problems.push('accuracy: required unless timingOnly');
  }
  return problems;
}

/** Does an onnxruntime dim (number, or string for a symbolic dim) match a manifest dim (-1 = dynamic)? */
export function dimMatches(manifestDim: number, ortDim: number | string): boolean {
  if (manifestDim === -1) return typeof ortDim === 'string' || ortDim === -1;
  return ortDim === manifestDim;
}

export { fmt as formatShape };
