/**
 * `offramp profile`: every single-tensor cut of an ONNX model (its articulation points, in
 * topological order) priced on real inputs — head and tail compute on this host and in MACs, the
 * activation through every rate point (bytes on the wire, its own error) — with what the model
 * answers (bytes down per output encoding) and what full offload sends. One profiled session
 * prices every node (split/node-costs.ts); one more session with every cut tensor as an output
 * yields the activations, sample by sample.
 */
import { basename, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeInput } from '../bottleneck/input.js';
import type { OutputData } from '../bottleneck/outputs.js';
import { loadZstd } from '../bottleneck/zstd-native.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import { sha256Hex } from '../protocol/bundle.js';
import { tensorError } from './agreement.js';
import { answerCosts, type AnswerCosts, type OutputDesc } from './answers.js';
import { product, type InputSpec, type RawSample } from './data.js';
import { onnx } from './generated/onnx.js';
import { ancestors, candidateCuts, graphIndex, type GraphIndex, type Model } from './graph.js';
import { nodeCosts, type NodeCosts } from './node-costs.js';
import { loadModel, modelOptionsOf, openSession, timeSession, type ModelOptions, type Progress } from './model.js';
import { parseRates, PROFILED_RATES, RangeTracker, ratePoint, roundTrip, type RateChoice } from './rates.js';

/** Options of {@link profileModel}. */
export interface ProfileOptions extends ModelOptions {
  /** Samples to measure activations and answers on (default 8). */
  samples?: number;
  /** Timed runs (default 10). */
  runs?: number;
  onProgress?: Progress;
}

/** One candidate cut. */
export interface CutProfile {
  tensor: string;
  /** Per-sample activation shape. */
  shape: number[];
  headMacs: number;
  tailMacs: number;
  /** On this host (the whole model's optimised time, shared out by per-node time). */
  headMs: number;
  tailMs: number;
  /** The activation as float32, bytes. */
  rawBytes: number;
  /** Per rate point id: payload bytes on the wire (mean and max over samples) and the activation's worst cosine after the codec. */
  rates: Record<string, { bytes: number; maxBytes: number; cosine: number }>;
}

/** What `offramp profile --json` writes (and `recommend` and `split` read back). */
export interface ModelProfile {
  model: { path: string; file: string; sha256: string };
  /** The options that read the model and its inputs (to reproduce them). */
  options: ModelOptions;
  fixes: string[];
  inputName: string;
  input: InputSpec;
  outputs: OutputDesc[];
  samples: { source: string; count: number; real: boolean };
  runs: number;
  full: { ms: number; macs: number };
  /** Full offload: the raw sample, bytes, and after zstd (mean). */
  raw: { bytes: number; zstdBytes: number };
  answers: AnswerCosts;
  cuts: CutProfile[];
  seconds: number;
}

/** Feeds one sample to a session of the prepared model. */
type Feed = (x: Float32Array) => Record<string, ort.Tensor>;

/** Bytes and worst cosine of one rate point at one cut, summed over the samples. */
interface RateTally {
  sum: number;
  max: number;
  cosine: number;
}

/** What one pass over the samples with every cut tensor as an output gave: the float cuts, their ranges, the model's answers. */
interface Calibration {
  floatCuts: string[];
  trackers: Map<string, RangeTracker>;
  references: OutputData[][];
}

/** Profiles every candidate cut of the model at `path`. */
export async function profileModel(path: string, o: ProfileOptions = {}): Promise<ModelProfile> {
  const t0 = performance.now();
  const progress = o.onProgress ?? (() => {});
  const runs = o.runs ?? 10;
  const m = await loadModel(path, o, o.samples ?? 8);
  const { prepared, input, outputs } = m;
  const inputs = m.samples.inputs;
  const dims = [1, ...input.shape];
  const feed: Feed = (x) => ({ [prepared.input.name]: new ort.Tensor('float32', x, dims) });
  const zstd = await loadZstd();

  progress('timing the whole model', 0, 2);
  const full = await openSession(prepared.bytes);
  const fullMs = await timeSession(full, inputs.slice(0, 2).map(feed), runs);
  await full.release();
  progress('pricing every node', 1, 2);
  const costs = await nodeCosts(prepared.model, { name: prepared.input.name, data: inputs[0]!, dims }, runs);
  progress('pricing every node', 2, 2);

  // Activations of every candidate cut, two passes over the samples: ranges, then rate points.
  const tensors = candidateCuts(prepared.model);
  const probe = onnx.ModelProto.decode(prepared.bytes);
  probe.graph!.output = [...probe.graph!.output!, ...tensors.map((t) => onnx.ValueInfoProto.create({ name: t }))];
  const acts = await openSession(onnx.ModelProto.encode(probe).finish(), 'basic');
  const cal = await calibrateCuts(acts, feed, tensors, inputs, outputs, progress);
  const choices = parseRates([...PROFILED_RATES]);
  const rates = await codeActivations(acts, feed, cal, choices, inputs, zstd, progress);
  await acts.release();

  const fullMacs = costs.macs.reduce((a, b) => a + b, 0);
  const pricing: Pricing = { model: prepared.model, index: graphIndex(prepared.model), costs, fullMs, fullMacs, choices, samples: inputs.length };
  const cuts = cal.floatCuts.map((t) => priceCut(pricing, t, cal.trackers.get(t)!.shape, rates.get(t)!));
  return {
    model: { path: resolve(path), file: basename(path), sha256: sha256Hex(m.bytes) },
    options: modelOptionsOf(o),
    fixes: prepared.fixes,
    inputName: prepared.input.name,
    input,
    outputs,
    samples: { source: m.samples.source, count: inputs.length, real: m.samples.real },
    runs,
    full: { ms: fullMs, macs: fullMacs },
    raw: rawCosts(input, m.samples.raw, zstd),
    answers: answerCosts(outputs, cal.references, zstd),
    cuts,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** First pass: which cut tensors are float with the batch dim first (from sample 0), their ranges, and the model's answers. */
async function calibrateCuts(
  acts: ort.InferenceSession,
  feed: Feed,
  tensors: string[],
  inputs: Float32Array[],
  outputs: OutputDesc[],
  progress: Progress,
): Promise<Calibration> {
  const floatCuts: string[] = [];
  const trackers = new Map<string, RangeTracker>();
  const references: OutputData[][] = [];
  for (const [i, x] of inputs.entries()) {
    progress('calibrating ranges', i, inputs.length);
    const out = await acts.run(feed(x));
    references.push(outputs.map((d) => out[d.name]!.data as OutputData));
    if (i === 0) for (const t of tensors) if (out[t]!.type === 'float32' && out[t]!.dims[0] === 1) floatCuts.push(t);
    for (const t of floatCuts) {
      const a = out[t]!;
      if (!trackers.has(t)) trackers.set(t, new RangeTracker(a.dims.slice(1).map(Number)));
      trackers.get(t)!.observe(a.data as Float32Array);
    }
  }
  return { floatCuts, trackers, references };
}

/** Second pass: every float cut's activation through every rate point, bytes and worst cosine per cut and point. */
async function codeActivations(
  acts: ort.InferenceSession,
  feed: Feed,
  cal: Calibration,
  choices: RateChoice[],
  inputs: Float32Array[],
  zstd: ZstdBackend,
  progress: Progress,
): Promise<Map<string, RateTally[]>> {
  const { floatCuts, trackers } = cal;
  const rates = new Map(floatCuts.map((t) => [t, choices.map((): RateTally => ({ sum: 0, max: 0, cosine: 1 }))]));
  const points = new Map(floatCuts.map((t) => [t, choices.map((c) => ratePoint(c, trackers.get(t)!.ranges()))]));
  for (const [i, x] of inputs.entries()) {
    progress('coding activations', i, inputs.length);
    const out = await acts.run(feed(x));
    for (const t of floatCuts) {
      const tr = trackers.get(t)!;
      const a = out[t]!.data as Float32Array;
      choices.forEach((c, k) => {
        const r = roundTrip(a, tr.shape, points.get(t)![k]!, zstd);
        const acc = rates.get(t)![k]!;
        acc.sum += r.bytes;
        acc.max = Math.max(acc.max, r.bytes);
        acc.cosine = Math.min(acc.cosine, tensorError(a, r.decoded).cosine);
      });
    }
  }
  progress('coding activations', inputs.length, inputs.length);
  return rates;
}

/** What every cut is priced against: the whole model's per-node costs and totals, the rate points, the sample count. */
interface Pricing {
  model: Model;
  index: GraphIndex;
  costs: NodeCosts;
  fullMs: number;
  fullMacs: number;
  choices: RateChoice[];
  samples: number;
}

/** One cut's row: head and tail MACs and ms (the whole model's time shared out by per-node time), raw bytes, each rate point's figures. */
function priceCut(p: Pricing, t: string, activation: readonly number[], tallies: RateTally[]): CutProfile {
  const { costs, fullMs } = p;
  const share = (nodes: Set<number>, of: number[]): number => [...nodes].reduce((s, i) => s + of[i]!, 0);
  const head = ancestors(p.model, p.index, [t]);
  const headMacs = share(head, costs.macs);
  const headMs = costs.totalMs > 0 ? (fullMs * share(head, costs.ms)) / costs.totalMs : 0;
  const shape = [...activation];
  return {
    tensor: t,
    shape,
    headMacs,
    tailMacs: p.fullMacs - headMacs,
    headMs,
    tailMs: Math.max(0, fullMs - headMs),
    rawBytes: 4 * product(shape),
    rates: Object.fromEntries(
      p.choices.map((c, k) => {
        const r = tallies[k]!;
        return [c.id, { bytes: r.sum / p.samples, maxBytes: r.max, cosine: r.cosine }];
      }),
    ),
  };
}

/** Full offload: the raw sample's bytes, and its mean size after zstd. */
function rawCosts(input: InputSpec, raw: RawSample[], zstd: ZstdBackend): ModelProfile['raw'] {
  const bytes = product(input.raw.shape) * (input.raw.dtype === 'float32' ? 4 : 1);
  const zstdBytes = raw.reduce((s, r) => s + encodeInput(r, input.raw.shape, { codec: 'raw' }, { zstd }).payload.length, 0) / raw.length;
  return { bytes, zstdBytes };
}

const kb = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e4 ? `${(n / 1e3).toFixed(1)} kB` : `${n.toFixed(0)} B`);
const macsText = (n: number): string => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : `${(n / 1e6).toFixed(2)} M`);

/** The profile as Markdown: what was fixed, the inputs, the answers, and one row per cut. */
export function profileMarkdown(p: ModelProfile): string {
  const outs = p.outputs.map((o) => `'${o.name}' ${o.dtype} [${o.shape.join(', ')}] (${o.kind})`).join(', ');
  const a = p.answers.tensors;
  const lines = [
    `# Profile of ${p.model.file}`,
    '',
    ...(p.fixes.length ? ['Fixed: ' + p.fixes.join('; ') + '.', ''] : []),
    `Input '${p.inputName}' [${p.input.shape.join(', ')}] (${p.input.layout}); raw ${p.input.raw.dtype} [${p.input.raw.shape.join(', ')}] ${p.input.raw.layout}: ${kb(p.raw.bytes)} (${kb(p.raw.zstdBytes)} with zstd). Measured on ${p.samples.source}${p.samples.real ? '' : ' — not real data: give --data for real figures'}.`,
    `Outputs: ${outs}. Answers: fp32 ${kb(a.fp32.bytes)}, fp16 ${kb(a.fp16.bytes)} (cos ${a.fp16.cosine.toFixed(5)}), int8 ${kb(a.int8.bytes)} (cos ${a.int8.cosine.toFixed(5)}, max|Δ| ${a.int8.maxAbsError.toExponential(1)})${p.answers.label ? `; label only ${kb(p.answers.label)}` : ''}.`,
    `Whole model on this host: ${p.full.ms.toFixed(2)} ms (median of ${p.runs}), ${macsText(p.full.macs)} MACs. ${p.cuts.length} cuts; head/tail ms share the whole model's time by per-node time.`,
    '',
    '| # | cut tensor | shape | head MACs | head ms | tail ms | f32 | f16 | u8 | u4 | u8 cos | u4 cos |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  p.cuts.forEach((c, i) => {
    const r = c.rates;
    lines.push(
      `| ${i} | \`${c.tensor}\` | ${c.shape.join('×')} | ${macsText(c.headMacs)} | ${c.headMs.toFixed(2)} | ${c.tailMs.toFixed(2)} | ${kb(r.f32!.bytes)} | ${kb(r.f16!.bytes)} | ${kb(r.u8!.bytes)} | ${kb(r.u4!.bytes)} | ${r.u8!.cosine.toFixed(4)} | ${r.u4!.cosine.toFixed(4)} |`,
    );
  });
  return lines.join('\n') + '\n';
}
