/**
 * `offramp split`: any ONNX model cut at the given tensors, written as a normal bundle (head,
 * tail, full, manifest with hashes) that `offramp serve` and the device SDK run unchanged. No
 * trained bottleneck and no exits: the cut is sent at rate points calibrated on real inputs
 * (split/rates.ts), each with its agreement with the original measured on other inputs and
 * written to `manifest.agreement`. Outputs are declared by kind: `class-logits` only when the
 * user says the first output is [N, classes] scores (`classes` / `labels`), `tensor` otherwise.
 * The folder is written atomically (split/write.ts) and verified with the loader `serve` uses.
 */
import { basename } from 'node:path';
import { loadBundle, sha256Hex } from '../protocol/bundle.js';
import { OfframpError } from '../protocol/errors.js';
import type { Manifest, TensorSpec } from '../protocol/manifest.js';
import { agreementScore, type Agreement } from './agreement.js';
import { ancestors, graphIndex } from './graph.js';
import type { OutputDesc } from './answers.js';
import { measureCut, type CutMeasurement, type RateResult } from './measure.js';
import { loadModel, type LoadedModel, type ModelOptions, type Progress } from './model.js';
import { nodeCosts } from './node-costs.js';
import { DEFAULT_RATES, parseRates, type RateChoice } from './rates.js';
import { writeFolderAtomically } from './write.js';

/** Where a model's weights came from (the manifest's provenance.weights). */
export type WeightsOrigin = Manifest['provenance']['weights'];

/** Options of {@link splitToBundle}. */
export interface SplitOptions extends ModelOptions {
  /** The ONNX file. */
  model: string;
  /** Tensors to cut at. */
  at: string[];
  out: string;
  /** Add what the tail still needs to the cut instead of refusing. */
  widen?: boolean;
  /** Rate point ids (u1…u8, f16, f32); default u8, u4, f16. */
  rates?: string[];
  /** Samples read (default 16): the first `calibrate` calibrate the ranges, the rest measure agreement. */
  samples?: number;
  calibrate?: number;
  /** Label names (implies `classes`); their count must match the first output's. */
  labels?: string[];
  /** Required: the user says where the weights came from (a file cannot tell). */
  weights: WeightsOrigin;
  /** Where the model came from (a URL, a package), for provenance. */
  source?: string;
  id?: string;
  version?: string;
  /** Replace an existing bundle folder. */
  force?: boolean;
  /** The default rate point is the smallest one whose agreement reaches this (default 0.99). */
  minAgreement?: number;
  runs?: number;
  onProgress?: Progress;
}

/** What `offramp split` measured and wrote. */
export interface SplitReport {
  bundle: string;
  id: string;
  task: Manifest['task'];
  cut: string[];
  widened: boolean;
  fixes: string[];
  bottleneck: { name: string; shape: number[]; floatBytes: number };
  headNodes: number;
  tailNodes: number;
  /** Largest |head → tail − original| in float. */
  floatMaxAbsDiff: number;
  rates: { id: string; agreement: Agreement; bytes: { mean: number; p99: number; max: number } }[];
  defaultRate: string;
  /** True when no rate point reached `minAgreement` (the default is then the closest). */
  belowMinAgreement: boolean;
  agreementInputs: string;
  agreementSamples: number;
  macs: { head: number; tail: number; full: number };
  /** This host, real head and tail sessions, median ms. */
  hostMs: { head: number; tail: number };
  weights: WeightsOrigin;
  manifestBytes: number;
}

const WEIGHTS: readonly WeightsOrigin[] = ['trained', 'pretrained', 'random'];

/** A folder name as a bundle id. */
export function slug(s: string): string {
  const out = s
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
  return out || 'split';
}

const spec = (name: string, dtype: string, shape: readonly number[]): TensorSpec => ({ name, dtype: dtype as TensorSpec['dtype'], shape: [-1, ...shape] });

/** Refuses a split without a word on where the weights came from. */
function checkWeights(weights: unknown): void {
  if (!WEIGHTS.includes(weights as WeightsOrigin)) {
    throw new OfframpError(
      'INVALID_ARGUMENT',
      `say where the weights came from: --weights pretrained (published, e.g. PaddleOCR's), trained (you trained them) or random (untrained: a timing-only bundle); got ${JSON.stringify(weights)}`,
    );
  }
}

/** The label names of a classifier: as given (as many as the first output scores), else '0', '1', …; none for a tensor model. */
export function labelsFor(classes: boolean, given: string[] | undefined, outputs: readonly OutputDesc[]): string[] {
  if (!classes) return [];
  const first = outputs[0]!;
  const labels = given ?? Array.from({ length: first.shape[0]! }, (_, i) => String(i));
  if (labels.length !== first.shape[0]) {
    throw new OfframpError('INVALID_ARGUMENT', `--labels has ${labels.length} labels; the first output '${first.name}' scores ${first.shape[0]} classes`);
  }
  return labels;
}

/** The default rate point: the smallest (mean bytes) whose agreement reaches `min`, else the closest to it (`passing` false). */
export function defaultRate(rates: readonly RateResult[], min: number): { chosen: RateResult; passing: boolean } {
  const passing = rates.filter((r) => agreementScore(r.agreement) >= min).sort((a, b) => a.bytes.mean - b.bytes.mean);
  const closest = [...rates].sort((a, b) => agreementScore(b.agreement) - agreementScore(a.agreement))[0]!;
  return { chosen: passing[0] ?? closest, passing: passing.length > 0 };
}

/** What agreement was measured on: the data (or that it was noise), the evaluation samples, the calibration samples. */
export function agreementInputsOf(samples: Pick<LoadedModel['samples'], 'real' | 'source'>, cut: Pick<CutMeasurement, 'calibration' | 'evaluation'>): string {
  const [c0, c1] = cut.calibration;
  const [e0, e1] = cut.evaluation;
  const from = samples.real ? samples.source.replace(/ \(.*\)$/, '') : 'seeded random noise (not real data)';
  return `${from}: samples ${e0}–${e1} (ranges calibrated on samples ${c0}–${c1})`;
}

/** MACs of the head (the nodes the cut tensors depend on), the tail (the rest) and the whole model, from one profiled run. */
async function cutMacs(m: LoadedModel, cut: CutMeasurement): Promise<{ head: number; tail: number; full: number }> {
  const { prepared } = m;
  const costs = await nodeCosts(prepared.model, { name: prepared.input.name, data: m.samples.inputs[0]!, dims: [1, ...prepared.input.sampleShape] }, 1);
  const headSet = ancestors(prepared.model, graphIndex(prepared.model), cut.cut.tensors);
  const head = [...headSet].reduce((s, i) => s + costs.macs[i]!, 0);
  const full = costs.macs.reduce((a, b) => a + b, 0);
  return { head, tail: full - head, full };
}

/** Everything a split bundle's files and report are written from. */
interface SplitParts {
  o: SplitOptions;
  m: LoadedModel;
  cut: CutMeasurement;
  rates: RateChoice[];
  macs: { head: number; tail: number; full: number };
  min: number;
  classes: boolean;
  labels: string[];
  id: string;
  chosen: RateResult;
  agreementInputs: string;
}

/** split-report.json: every figure the split measured. */
function splitReportFile({ o, m, cut, macs }: SplitParts): { modelSha256: string; text: string } {
  const report = {
    tool: 'offramp split',
    model: basename(o.model),
    modelSha256: sha256Hex(m.bytes),
    fixes: m.prepared.fixes,
    cut: cut.cut.tensors,
    bottleneck: cut.bottleneck,
    floatMaxAbsDiff: cut.floatMaxAbsDiff,
    samples: { source: m.samples.source, calibration: cut.calibration, evaluation: cut.evaluation },
    rates: cut.rates.map((r) => ({ id: r.choice.id, agreement: r.agreement, bytes: r.bytes, perSampleBytes: r.perSample })),
    macs,
    hostMs: { head: cut.headMs, tail: cut.tailMs },
  };
  return { modelSha256: report.modelSha256, text: JSON.stringify(report, null, 1) + '\n' };
}

/** The manifest: no exits, the cut as the bottleneck at the measured rate points, agreement per rate, provenance with the split's config and its report's hash. */
function splitManifest(x: SplitParts, report: { modelSha256: string; text: string }): Manifest {
  const { o, m, cut, macs } = x;
  const { prepared } = m;
  const { name: bName, shape: bShape } = cut.bottleneck;
  const [e0, e1] = cut.evaluation;
  const inSpec = spec(prepared.input.name, 'float32', prepared.input.sampleShape);
  const outSpecs = m.outputs.map((d) => spec(d.name, d.dtype, d.shape));
  return {
    schemaVersion: 2,
    id: x.id,
    version: o.version ?? '1.0.0',
    task: x.classes ? 'classification' : 'tensor',
    labels: x.labels,
    timingOnly: o.weights === 'random',
    input: m.input,
    bottleneck: {
      headOutput: bName,
      tailInput: bName,
      shape: bShape,
      ratePoints: cut.rates.map((r) => r.spec),
      defaultRatePoint: cut.rates.indexOf(x.chosen),
    },
    exits: [],
    outputs: m.outputs.map((d) => ({ name: d.name, kind: d.kind })),
    graphs: {
      head: { file: 'head.onnx', sha256: sha256Hex(cut.headBytes), inputs: [inSpec], outputs: [spec(bName, 'float32', bShape)] },
      tail: { file: 'tail.onnx', sha256: sha256Hex(cut.tailBytes), inputs: [spec(bName, 'float32', bShape)], outputs: outSpecs },
      full: { file: 'full.onnx', sha256: sha256Hex(prepared.bytes), inputs: [inSpec], outputs: outSpecs },
    },
    agreement: { inputs: x.agreementInputs, samples: e1 - e0 + 1, byRate: Object.fromEntries(cut.rates.map((r) => [r.choice.id, r.agreement])) },
    macs,
    provenance: {
      tool: 'offramp split',
      dataset: `calibration and agreement: ${m.samples.source}`,
      weights: o.weights,
      commit: '',
      createdAt: new Date().toISOString(),
      ...(o.source ? { source: o.source } : {}),
      config: {
        model: basename(o.model),
        modelSha256: report.modelSha256,
        at: o.at,
        cut: cut.cut.tensors,
        widen: Boolean(o.widen),
        rates: x.rates.map((r) => r.id),
        fixes: prepared.fixes,
        minAgreement: x.min,
        report: { file: 'split-report.json', sha256: sha256Hex(new TextEncoder().encode(report.text)) },
      },
    },
  };
}

/** What splitToBundle returns. */
function splitSummary(x: SplitParts, manifest: Manifest, manifestText: string, passing: boolean): SplitReport {
  const { o, cut } = x;
  const { name, shape } = cut.bottleneck;
  const [e0, e1] = cut.evaluation;
  return {
    bundle: o.out,
    id: x.id,
    task: manifest.task,
    cut: cut.cut.tensors,
    widened: cut.cut.tensors.length > o.at.length,
    fixes: x.m.prepared.fixes,
    bottleneck: { name, shape, floatBytes: 4 * shape.reduce((a, b) => a * b, 1) },
    headNodes: cut.cut.headNodes,
    tailNodes: cut.cut.tailNodes,
    floatMaxAbsDiff: cut.floatMaxAbsDiff,
    rates: cut.rates.map((r) => ({ id: r.choice.id, agreement: r.agreement, bytes: r.bytes })),
    defaultRate: x.chosen.choice.id,
    belowMinAgreement: !passing,
    agreementInputs: x.agreementInputs,
    agreementSamples: e1 - e0 + 1,
    macs: x.macs,
    hostMs: { head: cut.headMs, tail: cut.tailMs },
    weights: o.weights,
    manifestBytes: new TextEncoder().encode(manifestText).length,
  };
}

/** Cuts, measures, verifies and writes the bundle; returns what it measured. */
export async function splitToBundle(o: SplitOptions): Promise<SplitReport> {
  checkWeights(o.weights);
  const rates = parseRates(o.rates ?? [...DEFAULT_RATES]);
  const classes = o.classes || o.labels !== undefined;
  const m = await loadModel(o.model, { ...o, classes }, o.samples ?? 16);
  const labels = labelsFor(classes, o.labels, m.outputs);
  const cut: CutMeasurement = await measureCut(m, o.at, {
    widen: o.widen,
    rates,
    runs: o.runs,
    ...(o.calibrate !== undefined ? { calibrate: o.calibrate } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const macs = await cutMacs(m, cut);
  const min = o.minAgreement ?? 0.99;
  const { chosen, passing } = defaultRate(cut.rates, min);
  const id = o.id ?? slug(basename(o.out));
  const parts: SplitParts = { o, m, cut, rates, macs, min, classes, labels, id, chosen, agreementInputs: agreementInputsOf(m.samples, cut) };
  const report = splitReportFile(parts);
  const manifest = splitManifest(parts, report);
  const manifestText = JSON.stringify(manifest, null, 1) + '\n';
  await writeFolderAtomically(
    o.out,
    { 'head.onnx': cut.headBytes, 'tail.onnx': cut.tailBytes, 'full.onnx': m.prepared.bytes, 'manifest.json': manifestText, 'split-report.json': report.text },
    async (dir) => {
      await loadBundle(dir); // the checks serve and the SDK apply (schema, consistency, hashes, ports)
    },
    o.force,
  );
  return splitSummary(parts, manifest, manifestText, passing);
}
