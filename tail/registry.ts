/**
 * The bundles an edge serves: every subfolder of `--models` holding a manifest.json, each loaded
 * and verified, with its rate points resolved. A Hello must name one by id, version and
 * manifest hash.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { maxPayloadBytes, type RatePoint } from '../bottleneck/features.js';
import { inputEncodingProblem, maxInputBytes, type InputEncoding } from '../bottleneck/input.js';
import { resolveRatePoints } from '../bottleneck/rate-points.js';
import { loadBundle, type LoadedBundle } from '../protocol/bundle.js';
import { OfframpError } from '../protocol/errors.js';
import { pb, type BundleRef, type WireInputEncoding } from '../protocol/messages.js';
import type { OutputInfo } from './answer.js';
import type { WorkerGraph } from './worker-protocol.js';

/** The two graphs a request may run. */
export type RequestGraph = 'tail' | 'full';

/** A served bundle and what requests for it must look like. */
export interface ServedBundle {
  bundle: LoadedBundle;
  key: string;
  ratePoints: RatePoint[];
  /** Per-sample shapes: the bottleneck, the model input, the raw sample. */
  featureShape: number[];
  inputShape: number[];
  rawShape: number[];
  names: Record<RequestGraph, string>;
  /** The scheduler's queue of each graph (`${key}/${graph}`), built once here rather than per request. */
  graphKeys: Record<RequestGraph, string>;
  outputs: OutputInfo[];
  /** Largest payload of each rate point (bytes). */
  maxPayload: number[];
  /** Largest frame any request for this bundle needs (raw float32 input + margin). */
  maxFrameBytes: number;
}

const FRAME_MARGIN = 4096;

/** Product of a shape's dims. */
export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function serve(bundle: LoadedBundle): ServedBundle {
  const m = bundle.manifest;
  const ratePoints = resolveRatePoints(m, bundle.tables);
  const featureShape = [...m.bottleneck.shape];
  const outputs: OutputInfo[] = m.outputs.map((o) => {
    const spec = m.graphs.tail.outputs.find((t) => t.name === o.name)!;
    return { name: o.name, kind: o.kind, dtype: spec.dtype, shape: spec.shape.slice(1).map((d) => (d < 0 ? 0 : d)) };
  });
  const largest = Math.max(4 * product(featureShape), 4 * product(m.input.raw.shape));
  const key = `${m.id}@${m.version}`;
  return {
    bundle,
    key,
    ratePoints,
    featureShape,
    inputShape: [...m.input.shape],
    rawShape: [...m.input.raw.shape],
    names: { tail: m.bottleneck.tailInput, full: m.graphs.full.inputs[0]!.name },
    graphKeys: { tail: `${key}/tail`, full: `${key}/full` },
    outputs,
    maxPayload: ratePoints.map((rp) => maxPayloadBytes(featureShape, rp)),
    maxFrameBytes: largest + FRAME_MARGIN,
  };
}

/** Loads every bundle under `dir` (sorted by folder name); throws on the first bad one. */
export async function loadRegistry(dir: string): Promise<Map<string, ServedBundle>> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    throw new OfframpError('BUNDLE_FILE_MISSING', `cannot read the models folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
  const out = new Map<string, ServedBundle>();
  for (const name of names) {
    const path = join(dir, name);
    let bundle: LoadedBundle;
    try {
      bundle = await loadBundle(path);
    } catch (err) {
      if ((err as OfframpError).code === 'BUNDLE_FILE_MISSING' && (err as Error).message.includes('manifest.json')) continue;
      throw err;
    }
    const s = serve(bundle);
    if (out.has(s.key)) throw new OfframpError('BUNDLE_INVALID', `${path}: ${s.key} is served twice`);
    out.set(s.key, s);
  }
  if (out.size === 0) throw new OfframpError('BUNDLE_FILE_MISSING', `no bundle (a folder with manifest.json) under ${dir}`);
  return out;
}

/** The bundle a Hello names, or UNKNOWN_MODEL / MODEL_MISMATCH. */
export function resolveBundle(registry: Map<string, ServedBundle>, ref: BundleRef): ServedBundle {
  const s = registry.get(`${ref.id}@${ref.version}`);
  if (!s) throw new OfframpError('UNKNOWN_MODEL', `this edge does not serve ${ref.id} ${ref.version} (it serves ${[...registry.keys()].join(', ')})`);
  if (s.bundle.manifestSha256 !== ref.manifestSha256) {
    throw new OfframpError('MODEL_MISMATCH', `${ref.id} ${ref.version} here has manifest sha256 ${s.bundle.manifestSha256}, not ${ref.manifestSha256}`);
  }
  return s;
}

const INPUT_CODECS: Record<number, InputEncoding['codec']> = {
  [pb.InputCodec.INPUT_RAW]: 'raw',
  [pb.InputCodec.INPUT_DOWNSAMPLE]: 'downsample',
  [pb.InputCodec.INPUT_JPEG]: 'jpeg',
};

/** A Hello's input encoding as the codec's, or why the edge cannot accept it. */
export function inputEncodingFromWire(e: WireInputEncoding, s: ServedBundle, jpeg: boolean): InputEncoding | string {
  const codec = INPUT_CODECS[e.codec];
  if (!codec) return `input codec ${e.codec} is not known`;
  const enc: InputEncoding = codec === 'raw' ? { codec } : codec === 'downsample' ? { codec, factor: e.factor, bits: e.bits } : { codec, quality: e.quality };
  if (codec === 'jpeg' && !jpeg) return 'jpeg is not available on this edge';
  if (codec !== 'raw' && s.bundle.manifest.input.raw.dtype !== 'uint8') return `${codec} needs uint8 raw samples`;
  return inputEncodingProblem(s.rawShape, enc) ?? enc;
}

/** Largest payload of an input encoding for this bundle (bytes). */
export function maxInputPayload(s: ServedBundle, e: InputEncoding): number {
  const raw = maxInputBytes(s.rawShape, e);
  return s.bundle.manifest.input.raw.dtype === 'float32' ? 4 * raw : raw;
}

/** Worker graph descriptions for every served bundle (tail and full). */
export function workerGraphs(registry: Map<string, ServedBundle>): WorkerGraph[] {
  const out: WorkerGraph[] = [];
  for (const s of registry.values()) {
    const m = s.bundle.manifest;
    for (const g of ['tail', 'full'] as const) {
      const spec = m.graphs[g];
      const sampleShape = g === 'tail' ? s.featureShape : s.inputShape;
      out.push({
        key: s.graphKeys[g],
        path: s.bundle.paths[g],
        input: spec.inputs[0]!.name,
        outputs: m.outputs.map((o) => o.name),
        sampleShape,
        sampleSize: product(sampleShape),
      });
    }
  }
  return out;
}
