/**
 * The bundles an edge serves: every subfolder of `--models` holding a manifest.json, each loaded
 * and verified. A Hello must name one by id, version and manifest hash.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadBundle, type LoadedBundle } from '../protocol/bundle.js';
import { OfframpError } from '../protocol/errors.js';
import type { BundleRef, InferRequest, RequestGraph } from '../protocol/messages.js';
import { packedByteLength } from '../protocol/messages.js';
import type { WorkerGraph } from './worker-protocol.js';

/** A served bundle and what requests for it must look like. */
export interface ServedBundle {
  bundle: LoadedBundle;
  key: string;
  /** Accepted bit widths per graph: the trained ones (+ float16/32) for the tail, 8 for raw input. */
  bits: Record<RequestGraph, number[]>;
  /** Per-request tensor shape and input name per graph. */
  shapes: Record<RequestGraph, number[]>;
  names: Record<RequestGraph, string>;
  classes: number;
  /** Largest legal frame for this bundle (float32 payload + envelope margin). */
  maxFrameBytes: number;
}

const FRAME_MARGIN = 4096;

export function graphKey(key: string, graph: RequestGraph): string {
  return `${key}/${graph}`;
}

function serve(bundle: LoadedBundle): ServedBundle {
  const m = bundle.manifest;
  const tailShape = [1, ...m.bottleneck.shape];
  const fullShape = [1, ...m.input.shape];
  const largest = Math.max(tailShape.reduce((a, b) => a * b, 1), fullShape.reduce((a, b) => a * b, 1));
  return {
    bundle,
    key: `${m.id}@${m.version}`,
    bits: { tail: [...m.bottleneck.bits, 16, 32], full: [8] },
    shapes: { tail: tailShape, full: fullShape },
    names: { tail: m.bottleneck.tailInput, full: m.graphs.full.inputs[0]!.name },
    classes: m.labels.length,
    maxFrameBytes: packedByteLength(largest, 32) + FRAME_MARGIN,
  };
}

/** Loads every bundle under `dir` (sorted by folder name); throws on the first bad one. */
export async function loadRegistry(dir: string): Promise<Map<string, ServedBundle>> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const out = new Map<string, ServedBundle>();
  for (const name of entries) {
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
  if (!s) throw new OfframpError('UNKNOWN_MODEL', `this edge does not serve ${ref.id} ${ref.version}`);
  if (s.bundle.manifestSha256 !== ref.manifestSha256) {
    throw new OfframpError('MODEL_MISMATCH', `${ref.id} ${ref.version} here has manifest sha256 ${s.bundle.manifestSha256}, not ${ref.manifestSha256}`);
  }
  return s;
}

/** Checks a decoded request against its bundle (name, shape, bit width); throws a typed error. */
export function checkRequest(s: ServedBundle, r: InferRequest, codecs: readonly string[]): void {
  const id = { requestId: r.id };
  const g = r.graph;
  if (r.name !== s.names[g]) throw new OfframpError('BAD_REQUEST', `tensor name ${JSON.stringify(r.name)} is not the ${g} graph's input ${JSON.stringify(s.names[g])}`, id);
  const want = s.shapes[g];
  const shape = r.encoding.shape;
  if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
    throw new OfframpError('SHAPE_MISMATCH', `tensor [${shape.join(', ')}] does not fit the ${g} graph's input [${want.join(', ')}]`, id);
  }
  if (!s.bits[g].includes(r.encoding.bits)) {
    throw new OfframpError('BAD_REQUEST', `${r.encoding.bits}-bit tensors are not accepted for the ${g} graph (${s.bits[g].join(', ')})`, id);
  }
  if (g === 'full' && (r.encoding.scale.length !== 1 || r.encoding.scale[0] !== 1 || r.encoding.zeroPoint[0] !== 0)) {
    // Full offload sends the raw sample: uint8 values as 8-bit codes, scale 1, zero point 0; the
    // edge applies the manifest's normalisation.
    throw new OfframpError('BAD_REQUEST', 'full-model requests carry the raw sample: 8 bits, scale 1, zero point 0', id);
  }
  if (!codecs.includes(r.encoding.codec)) throw new OfframpError('UNSUPPORTED_CODEC', `codec ${r.encoding.codec} was not agreed in the handshake`, id);
}

/**
 * Decoded bottleneck features must lie near the bundle's range: within one range-width of
 * [min, max]. A device's quantizer (or a calibrated split) stays inside it; values far outside
 * come from forged scales or zero points and would drive the tail to Inf/NaN — refused here,
 * before any compute, rather than failing inside the model.
 */
export function checkFeatures(s: ServedBundle, r: InferRequest, x: Float32Array): void {
  if (r.graph !== 'tail') return; // full-model inputs are raw uint8 samples, bounded by construction
  const { min, max } = s.bundle.manifest.bottleneck.range;
  const lo = min - (max - min);
  const hi = max + (max - min);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!(v >= lo && v <= hi)) {
      throw new OfframpError('BAD_REQUEST', `feature value ${i} (${v}) is far outside the bottleneck's range [${min}, ${max}]: check the quantization scale and zero point`, { requestId: r.id });
    }
  }
}

/** Worker graph descriptions for every served bundle (tail and full). */
export function workerGraphs(registry: Map<string, ServedBundle>): WorkerGraph[] {
  const out: WorkerGraph[] = [];
  for (const s of registry.values()) {
    const m = s.bundle.manifest;
    for (const g of ['tail', 'full'] as const) {
      const spec = m.graphs[g];
      const sampleShape = s.shapes[g].slice(1);
      out.push({
        key: graphKey(s.key, g),
        path: s.bundle.paths[g],
        input: spec.inputs[0]!.name,
        output: spec.outputs[0]!.name,
        sampleShape,
        sampleSize: sampleShape.reduce((a, b) => a * b, 1),
      });
    }
  }
  return out;
}
