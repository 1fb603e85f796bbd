/**
 * The samples a model is profiled, calibrated and checked on, and how raw samples become model
 * inputs. `--data` is an IDX file (uint8, the MNIST family's format), a `.npy` file
 * (`uint8` or `float32`, one sample or a batch along dim 0), or a folder of `.npy` / `.bin`
 * files (one sample or a batch each, in name order); any file may be gzipped. Without `--data`,
 * seeded random uint8 noise — and every report says which. Raw samples go through
 * protocol/normalize.ts, the code the device SDK runs, so what is measured here is what a device
 * computes.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseIdx } from '../head/datasets/idx.js';
import { seededSamples } from '../head/datasets/synthetic.js';
import { OfframpError } from '../protocol/errors.js';
import type { Manifest } from '../protocol/manifest.js';
import { normalizeInto } from '../protocol/normalize.js';

/** The manifest's `input` section. */
export type InputSpec = Manifest['input'];
/** One raw sample. */
export type RawSample = Uint8Array | Float32Array;

/** How raw samples are declared (CLI flags). */
export interface InputOptions {
  rawDtype?: 'uint8' | 'float32';
  /** Raw sample layout: CHW (planar), HWC (interleaved, a camera frame) or plain. */
  layout?: 'CHW' | 'HWC' | 'plain';
  /** The model input's layout; default guessed from its dims (channels of 1, 3 or 4). */
  modelLayout?: InputSpec['layout'];
  scale?: number;
  mean?: number[];
  std?: number[];
}

const invalid = (message: string): never => {
  throw new OfframpError('INVALID_ARGUMENT', message);
};

const isChannels = (d: number | undefined): boolean => d === 1 || d === 3 || d === 4;

/** The model input's layout from its per-sample dims. */
export function guessLayout(shape: readonly number[]): InputSpec['layout'] {
  if (shape.length === 1) return 'NC';
  if (shape.length === 3 && isChannels(shape[0])) return 'NCHW';
  if (shape.length === 3 && isChannels(shape[2])) return 'NHWC';
  return 'other';
}

/** The manifest's input description for a model input of per-sample `shape`. */
export function inputSpec(shape: readonly number[], o: InputOptions = {}): InputSpec {
  const layout = o.modelLayout ?? guessLayout(shape);
  if ((layout === 'NCHW' || layout === 'NHWC') && shape.length !== 3)
    invalid(`--model-layout ${layout} needs a [C, H, W]-like input; this one is [${shape.join(', ')}] per sample`);
  const dtype = o.rawDtype ?? 'uint8';
  const rawLayout = o.layout ?? (layout === 'NCHW' ? 'CHW' : layout === 'NHWC' ? 'HWC' : 'plain');
  if (rawLayout === 'HWC' && layout !== 'NCHW' && layout !== 'NHWC') invalid('--layout HWC needs an image input (NCHW or NHWC; set --model-layout)');
  if (rawLayout === 'CHW' && layout === 'NHWC') invalid("--layout CHW with an NHWC model is not supported: give raw samples as HWC (the model's own order)");
  if (rawLayout === 'CHW' && layout !== 'NCHW') invalid(`--layout CHW needs an NCHW model input (this one is ${layout}); use --layout plain`);
  const rawShape = rawLayout === 'HWC' && layout === 'NCHW' ? [shape[1]!, shape[2]!, shape[0]!] : [...shape];
  const channels = layout === 'NCHW' ? shape[0]! : layout === 'NHWC' ? shape[2]! : 1;
  const mean = o.mean ?? [0];
  const std = o.std ?? [1];
  for (const [flag, list] of [
    ['--mean', mean],
    ['--std', std],
  ] as const) {
    if (list.length !== 1 && list.length !== channels)
      invalid(`${flag} has ${list.length} values; the input has ${channels} channel${channels === 1 ? '' : 's'} (give 1 or ${channels})`);
  }
  if (std.some((s) => !(s > 0))) invalid('--std values must be positive');
  const scale = o.scale ?? (dtype === 'uint8' ? 1 / 255 : 1);
  if (!(scale > 0)) invalid('--scale must be positive');
  return { shape: [...shape], layout, normalization: { scale, mean, std }, raw: { dtype, shape: rawShape, layout: rawLayout } };
}

/** Product of dims. */
export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A raw sample as the model input the SDK would compute from it. */
export function toModelInput(raw: RawSample, spec: InputSpec): Float32Array {
  return normalizeInto(raw, spec, new Float32Array(product(spec.shape)));
}

/** A parsed `.npy` array (C order). */
export interface NpyArray {
  dtype: 'uint8' | 'float32';
  shape: number[];
  data: RawSample;
}

/** Parses `.npy` bytes (format 1–3, `|u1` or `<f4`, C order). */
export function parseNpy(bytes: Uint8Array, where = 'npy data'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) invalid(`${where}: not a .npy file`);
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) return invalid(`${where}: unreadable .npy header`);
  if (fortran) invalid(`${where}: Fortran-order arrays are not supported (save with np.ascontiguousarray)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const body = bytes.subarray(start + headerLen);
  const n = product(shape);
  if (descr === '|u1' || descr === 'u1') {
    if (body.length !== n) invalid(`${where}: ${body.length} bytes of data, shape (${shape.join(', ')}) needs ${n}`);
    return { dtype: 'uint8', shape, data: body.slice() };
  }
  if (descr === '<f4') {
    if (body.length !== 4 * n) invalid(`${where}: ${body.length} bytes of data, shape (${shape.join(', ')}) needs ${4 * n}`);
    return { dtype: 'float32', shape, data: new Float32Array(body.slice().buffer) };
  }
  return invalid(`${where}: dtype ${descr} is not supported (save uint8 or float32)`);
}

const gunzipped = (b: Uint8Array): Uint8Array => (b[0] === 0x1f && b[1] === 0x8b ? new Uint8Array(gunzipSync(b)) : b);

/** The samples in one file: arrays of `size` values each. */
function samplesOf(bytes: Uint8Array, name: string, size: number, dtype: 'uint8' | 'float32'): RawSample[] {
  const b = gunzipped(bytes);
  let data: RawSample;
  if (b[0] === 0x93) data = parseNpy(b, name).data;
  else if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0x08) {
    try {
      data = parseIdx(b, name).data;
    } catch (e) {
      return invalid((e as Error).message);
    }
  } else if (/\.bin(\.gz)?$/.test(name)) data = dtype === 'float32' ? new Float32Array(b.slice().buffer, 0, Math.floor(b.length / 4)) : b;
  else return invalid(`${name}: not an IDX, .npy or .bin file`);
  if (data instanceof Float32Array && dtype === 'uint8')
    invalid(`${name} holds float32 values; the raw samples are uint8 (use --raw-dtype float32, or save uint8)`);
  if (data.length % size !== 0 || data.length === 0) invalid(`${name} holds ${data.length} values, not a whole number of samples of ${size}`);
  const out: RawSample[] = [];
  for (let i = 0; i < data.length; i += size) {
    const s = data.subarray(i, i + size);
    out.push(dtype === 'float32' && s instanceof Uint8Array ? Float32Array.from(s) : s);
  }
  return out;
}

/** Samples and where they came from. */
export interface SampleSet {
  raw: RawSample[];
  /** e.g. "text-lines.npy.gz (16 samples)" or "seeded random uint8 noise (16 samples)". */
  source: string;
  /** Whether they are real data (false: seeded noise). */
  real: boolean;
}

/**
 * Up to `count` raw samples of `spec`: from `data` (a file or a folder), else seeded noise.
 * INVALID_ARGUMENT when the data does not fit the raw sample (the message gives both shapes).
 */
export async function loadSamples(spec: InputSpec, count: number, data?: string): Promise<SampleSet> {
  const size = product(spec.raw.shape);
  const dtype = spec.raw.dtype;
  if (!data) {
    const noise = seededSamples(size, count);
    return {
      raw: dtype === 'float32' ? noise.map((s) => Float32Array.from(s, (v) => v / 255)) : noise,
      source: `seeded random ${dtype === 'uint8' ? 'uint8' : 'float32 [0, 1)'} noise (${count} samples)`,
      real: false,
    };
  }
  const info = await stat(data).catch(() => invalid(`--data ${data}: no such file or folder`));
  const what = `raw samples are ${dtype} [${spec.raw.shape.join(', ')}] (${spec.raw.layout}), ${size} values each`;
  let raw: RawSample[] = [];
  try {
    if (info.isDirectory()) {
      const names = (await readdir(data)).filter((n) => /\.(npy|bin)(\.gz)?$/.test(n)).sort();
      if (!names.length) invalid(`--data ${data}: the folder holds no .npy or .bin files`);
      for (const n of names) {
        raw.push(...samplesOf(await readFile(join(data, n)), n, size, dtype));
        if (raw.length >= count) break;
      }
    } else raw = samplesOf(await readFile(data), basename(data), size, dtype);
  } catch (e) {
    if (e instanceof OfframpError) throw new OfframpError('INVALID_ARGUMENT', `--data: ${e.message}; the ${what}`);
    throw e;
  }
  raw = raw.slice(0, count);
  return { raw, source: `${basename(data)} (${raw.length} sample${raw.length === 1 ? '' : 's'})`, real: true };
}
