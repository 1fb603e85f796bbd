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
import { measureCut, type CutMeasurement } from './measure.js';
import { loadModel, type ModelOptions, type Progress } from './model.js';
import { nodeCosts } from './node-costs.js';
import { DEFAULT_RATES, parseRates } from './rates.js';
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

/** Cuts, measures, verifies and writes the bundle; returns what it measured. */
export async function splitToBundle(o: SplitOptions): Promise<SplitReport> {
  if (!WEIGHTS.includes(o.weights)) {
    throw new OfframpError(
      'INVALID_ARGUMENT',
      `say where the weights came from: --weights pretrained (published, e.g. PaddleOCR's), trained (you trained them) or random (untrained: a timing-only bundle); got ${JSON.stringify(o.weights)}`,
    );
  }
  const rates = parseRates(o.rates ?? [...DEFAULT_RATES]);
  const classes = o.classes || o.labels !== undefined;
  const m = await loadModel(o.model, { ...o, classes }, o.samples ?? 16);
  const labels = classes ? (o.labels ?? Array.from({ length: m.outputs[0]!.shape[0]! }, (_, i) => String(i))) : [];
  if (classes && labels.length !== m.outputs[0]!.shape[0]) {
    throw new OfframpError(
      'INVALID_ARGUMENT',
      `--labels has ${labels.length} labels; the first output '${m.outputs[0]!.name}' scores ${m.outputs[0]!.shape[0]} classes`,
    );
  }
  const cut: CutMeasurement = await measureCut(m, o.at, {
    widen: o.widen,
    rates,
    runs: o.runs,
    ...(o.calibrate !== undefined ? { calibrate: o.calibrate } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  const { prepared } = m;
  const costs = await nodeCosts(prepared.model, { name: prepared.input.name, data: m.samples.inputs[0]!, dims: [1, ...prepared.input.sampleShape] }, 1);
  const headSet = ancestors(prepared.model, graphIndex(prepared.model), cut.cut.tensors);
  const macs = { head: [...headSet].reduce((s, i) => s + costs.macs[i]!, 0), tail: 0, full: costs.macs.reduce((a, b) => a + b, 0) };
  macs.tail = macs.full - macs.head;

  const min = o.minAgreement ?? 0.99;
  const passing = cut.rates.filter((r) => agreementScore(r.agreement) >= min).sort((a, b) => a.bytes.mean - b.bytes.mean);
  const closest = [...cut.rates].sort((a, b) => agreementScore(b.agreement) - agreementScore(a.agreement))[0]!;
  const chosen = passing[0] ?? closest;
  const [c0, c1] = cut.calibration;
  const [e0, e1] = cut.evaluation;
  const from = m.samples.real ? m.samples.source.replace(/ \(.*\)$/, '') : 'seeded random noise (not real data)';
  const agreementInputs = `${from}: samples ${e0}–${e1} (ranges calibrated on samples ${c0}–${c1})`;
  const { name: bName, shape: bShape } = cut.bottleneck;
  const id = o.id ?? slug(basename(o.out));
  const report = {
    tool: 'offramp split',
    model: basename(o.model),
    modelSha256: sha256Hex(m.bytes),
    fixes: prepared.fixes,
    cut: cut.cut.tensors,
    bottleneck: cut.bottleneck,
    floatMaxAbsDiff: cut.floatMaxAbsDiff,
    samples: { source: m.samples.source, calibration: cut.calibration, evaluation: cut.evaluation },
    rates: cut.rates.map((r) => ({ id: r.choice.id, agreement: r.agreement, bytes: r.bytes, perSampleBytes: r.perSample })),
    macs,
    hostMs: { head: cut.headMs, tail: cut.tailMs },
  };
  const reportText = JSON.stringify(report, null, 1) + '\n';
  const inSpec = spec(prepared.input.name, 'float32', prepared.input.sampleShape);
  const outSpecs = m.outputs.map((d) => spec(d.name, d.dtype, d.shape));
  const manifest: Manifest = {
    schemaVersion: 2,
    id,
    version: o.version ?? '1.0.0',
    task: classes ? 'classification' : 'tensor',
    labels,
    timingOnly: o.weights === 'random',
    input: m.input,
    bottleneck: {
      headOutput: bName,
      tailInput: bName,
      shape: bShape,
      ratePoints: cut.rates.map((r) => r.spec),
      defaultRatePoint: cut.rates.indexOf(chosen),
    },
    exits: [],
    outputs: m.outputs.map((d) => ({ name: d.name, kind: d.kind })),
    graphs: {
      head: { file: 'head.onnx', sha256: sha256Hex(cut.headBytes), inputs: [inSpec], outputs: [spec(bName, 'float32', bShape)] },
      tail: { file: 'tail.onnx', sha256: sha256Hex(cut.tailBytes), inputs: [spec(bName, 'float32', bShape)], outputs: outSpecs },
      full: { file: 'full.onnx', sha256: sha256Hex(prepared.bytes), inputs: [inSpec], outputs: outSpecs },
    },
    agreement: { inputs: agreementInputs, samples: e1 - e0 + 1, byRate: Object.fromEntries(cut.rates.map((r) => [r.choice.id, r.agreement])) },
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
        rates: rates.map((r) => r.id),
        fixes: prepared.fixes,
        minAgreement: min,
        report: { file: 'split-report.json', sha256: sha256Hex(new TextEncoder().encode(reportText)) },
      },
    },
  };
  const manifestText = JSON.stringify(manifest, null, 1) + '\n';
  await writeFolderAtomically(
    o.out,
    {
      'head.onnx': cut.headBytes,
      'tail.onnx': cut.tailBytes,
      'full.onnx': prepared.bytes,
      'manifest.json': manifestText,
      'split-report.json': reportText,
    },
    async (dir) => {
      await loadBundle(dir); // the checks serve and the SDK apply (schema, consistency, hashes, ports)
    },
    o.force,
  );
  return {
    bundle: o.out,
    id,
    task: manifest.task,
    cut: cut.cut.tensors,
    widened: cut.cut.tensors.length > o.at.length,
    fixes: prepared.fixes,
    bottleneck: { name: bName, shape: bShape, floatBytes: 4 * bShape.reduce((a, b) => a * b, 1) },
    headNodes: cut.cut.headNodes,
    tailNodes: cut.cut.tailNodes,
    floatMaxAbsDiff: cut.floatMaxAbsDiff,
    rates: cut.rates.map((r) => ({ id: r.choice.id, agreement: r.agreement, bytes: r.bytes })),
    defaultRate: chosen.choice.id,
    belowMinAgreement: passing.length === 0,
    agreementInputs,
    agreementSamples: e1 - e0 + 1,
    macs,
    hostMs: { head: cut.headMs, tail: cut.tailMs },
    weights: o.weights,
    manifestBytes: new TextEncoder().encode(manifestText).length,
  };
}
