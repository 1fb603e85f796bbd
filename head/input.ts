/**
 * Checking what an app passes to `infer()` against the bundle's input description, before any
 * work: the raw sample the manifest declares (uint8 or float32, its element count), or an
 * already-normalised model input. Every problem is an OfframpError INVALID_ARGUMENT that says
 * what was expected.
 */
import { OfframpError } from '../protocol/errors.js';
import type { Manifest } from '../protocol/manifest.js';
import { denormalize, normalizeInto } from '../protocol/normalize.js';

/** A raw sample (as the manifest's `input.raw` declares it) or `{ normalized }` model input. */
export type Sample = Uint8Array | Uint8ClampedArray | Float32Array | { normalized: Float32Array };

/** The model input and the raw sample of one checked sample. */
export interface CheckedSample {
  /** Normalised model input (NCHW when the model takes NCHW). */
  x: Float32Array;
  /** The raw sample, for full offload (built from `x` when only the model input was given). */
  raw: () => Uint8Array | Float32Array;
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function invalid(message: string): never {
  throw new OfframpError('INVALID_ARGUMENT', message);
}

/** Checks and normalises one sample for bundle `m`. */
export function checkSample(sample: unknown, m: Manifest): CheckedSample {
  const n = product(m.input.shape);
  const rawDesc = `${m.input.raw.dtype === 'uint8' ? 'a Uint8Array' : 'a Float32Array'} of ${n} values (shape [${m.input.raw.shape.join(', ')}], ${m.input.raw.layout})`;
  if (sample === null || sample === undefined) invalid(`infer() needs a sample: ${rawDesc}, or { normalized: Float32Array } of ${n} values`);
  if (typeof sample === 'object' && 'normalized' in sample && !ArrayBuffer.isView(sample)) {
    const x = sample.normalized;
    if (!(x instanceof Float32Array)) invalid('{ normalized } must hold a Float32Array');
    if (x.length !== n) invalid(`{ normalized } has ${x.length} values; ${m.id} takes ${n}`);
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) invalid(`{ normalized } value ${i} is not finite (${x[i]})`);
    return { x, raw: () => denormalize(x, m.input) };
  }
  const isBytes = sample instanceof Uint8Array || sample instanceof Uint8ClampedArray;
  if (m.input.raw.dtype === 'uint8') {
    if (sample instanceof Float32Array) {
      invalid(`${m.id} takes raw samples as ${rawDesc}; got a Float32Array (to pass an already-normalised input, use { normalized: Float32Array })`);
    }
    if (!isBytes) invalid(`${m.id} takes raw samples as ${rawDesc}; got ${describe(sample)}`);
  } else if (!(sample instanceof Float32Array)) {
    invalid(`${m.id} takes raw samples as ${rawDesc}; got ${describe(sample)}`);
  }
  const raw = sample;
  if (raw.length !== n) invalid(`the sample has ${raw.length} values; ${m.id} takes ${rawDesc}`);
  if (raw instanceof Float32Array) for (let i = 0; i < raw.length; i++) if (!Number.isFinite(raw[i]!)) invalid(`sample value ${i} is not finite (${raw[i]})`);
  const bytes: Uint8Array | Float32Array = raw instanceof Uint8ClampedArray ? new Uint8Array(raw.buffer, raw.byteOffset, raw.length) : raw;
  return { x: normalizeInto(bytes, m.input, new Float32Array(n)), raw: () => bytes };
}

function describe(v: unknown): string {
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (Array.isArray(v)) return 'an Array (wrap it: new Uint8Array(array))';
  return typeof v;
}
