/**
 * The feature codec: the pure, deterministic function pair both sides use for bottleneck
 * features, one rate point at a time. A rate point (the bundle manifest's
 * `bottleneck.ratePoints[i]`, bound once per connection) says everything a payload needs; a
 * payload carries only the coded values.
 *
 * - `entropy`: q = clamp(floor(x / step + 0.5), support of channel c), range-coded with the
 *   bundle's learned per-channel CDF tables; decodes to q · step.
 * - `uniform`: b-bit affine quantization with the manifest's per-channel (or per-tensor) range,
 *   dense bit-packing; decodes to (q − zeroPoint) · scale.
 * - `float16` / `float32`: little-endian values.
 *
 * A payload may be wrapped in one zstd frame (the request's zstd flag) when that makes it smaller;
 * never tried for entropy-coded payloads (nothing left to squeeze). Decoding checks every length
 * against what the shape implies before any allocation, so a hostile payload costs no more
 * memory than the declared tensor.
 */
import { OfframpError } from '../protocol/errors.js';
import { packBits, unpackBits } from './bitpack.js';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import { affineParams, dequantize, quantize } from './quantize.js';
import { maxEncodedBytes, rangeDecode, rangeEncode, type CdfTable } from './range-coder.js';
import type { ZstdBackend } from './zstd.js';

/** One way of coding the bottleneck, resolved from the manifest (tables loaded). */
export type RatePoint =
  | { codec: 'entropy'; step: number; tables: readonly CdfTable[] }
  | { codec: 'uniform'; bits: number; min: readonly number[]; max: readonly number[] }
  | { codec: 'float16' }
  | { codec: 'float32' };

/** A coded payload and whether it is wrapped in zstd. */
export interface EncodedPayload {
  payload: Uint8Array;
  zstd: boolean;
}

/** Options of the encoders. */
export interface EncodeOptions {
  /** Try zstd (when the peer accepted it) and keep it when smaller. Default: not tried. */
  zstd?: ZstdBackend;
  /** Do not try zstd below this size, bytes (its frame overhead eats the gain). Default 64. */
  zstdMinBytes?: number;
  zstdLevel?: number;
}

/** Options of the decoders. */
export interface DecodeOptions {
  /** Needed for zstd-wrapped payloads. */
  zstd?: ZstdBackend;
  /** Reuse this output buffer (exactly the tensor's element count). */
  out?: Float32Array;
}

/** Product of a shape's dims. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Float32 scale and zero point of every channel of a uniform rate point. */
export function uniformParams(rp: Extract<RatePoint, { codec: 'uniform' }>): { scale: number[]; zeroPoint: number[] } {
  const scale: number[] = [];
  const zeroPoint: number[] = [];
  for (let c = 0; c < rp.min.length; c++) {
    const p = affineParams(rp.min[c]!, rp.max[c]!, rp.bits);
    scale.push(p.scale);
    zeroPoint.push(p.zeroPoint);
  }
  return { scale, zeroPoint };
}

/**
 * Bytes a payload at `rp` may have for a per-sample `shape` (exact for uniform and float codecs,
 * an upper bound for entropy coding); a longer payload is refused before decoding.
 */
export function maxPayloadBytes(shape: readonly number[], rp: RatePoint): number {
  const n = elementCount(shape);
  switch (rp.codec) {
    case 'entropy':
      return maxEncodedBytes(n);
    case 'uniform':
      return Math.ceil((n * rp.bits) / 8);
    case 'float16':
      return 2 * n;
    case 'float32':
      return 4 * n;
  }
}

/** Checks a rate point against a per-sample shape (channels = shape[0]); returns the problem or undefined. */
export function ratePointProblem(shape: readonly number[], rp: RatePoint): string | undefined {
  const channels = shape[0] ?? 1;
  if (rp.codec === 'entropy') {
    if (!(rp.step > 0) || !Number.isFinite(rp.step)) return `step must be finite and positive, got ${rp.step}`;
    if (rp.tables.length !== channels) return `${rp.tables.length} tables for ${channels} channels`;
  } else if (rp.codec === 'uniform') {
    if (!Number.isInteger(rp.bits) || rp.bits < 1 || rp.bits > 8) return `bits must be 1..8, got ${rp.bits}`;
    if (rp.min.length !== rp.max.length || (rp.min.length !== 1 && rp.min.length !== channels))
      return `range needs 1 or ${channels} entries, got ${rp.min.length}`;
    for (let c = 0; c < rp.min.length; c++) if (!(rp.min[c]! < rp.max[c]!)) return `range ${c} is empty: [${rp.min[c]}, ${rp.max[c]}]`;
  }
  return undefined;
}

/** Entropy symbols of `x`: floor(x / step + 0.5) clamped to each channel's support. */
export function entropySymbols(x: Float32Array, rp: Extract<RatePoint, { codec: 'entropy' }>, out = new Int32Array(x.length)): Int32Array {
  const per = x.length / rp.tables.length;
  const step = rp.step;
  let i = 0;
  for (const t of rp.tables) {
    const lo = t.offset;
    const hi = t.offset + t.cdf.length - 2;
    for (const end = i + per; i < end; i++) {
      // A true division (not a multiplication by 1 / step): the spec's and the Python reference's.
      const q = Math.floor(x[i]! / step + 0.5);
      // NaN fails both comparisons and lands on the support's low end.
      out[i] = q > hi ? hi : q >= lo ? q : lo;
    }
  }
  return out;
}

/** Encodes one sample's features (`x`, per-sample `shape`) at rate point `rp`. */
export function encodeFeatures(x: Float32Array, shape: readonly number[], rp: RatePoint, options: EncodeOptions = {}): EncodedPayload {
  const n = elementCount(shape);
  if (x.length !== n) throw new RangeError(`features have ${x.length} values; shape [${shape.join(', ')}] needs ${n}`);
  let coded: Uint8Array;
  switch (rp.codec) {
    case 'entropy':
      return { payload: rangeEncode(entropySymbols(x, rp), rp.tables, n / rp.tables.length), zstd: false };
    case 'uniform': {
      const { scale, zeroPoint } = uniformParams(rp);
      coded = packBits(quantize(x, shape, 0, rp.bits, scale, zeroPoint), rp.bits);
      break;
    }
    case 'float16':
      coded = encodeFloat16(x);
      break;
    case 'float32':
      coded = new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
      break;
  }
  return wrapIfSmaller(coded, options);
}

/** zstd when a backend is given, the payload is worth trying, and the frame is smaller. */
export function wrapIfSmaller(coded: Uint8Array, options: EncodeOptions): EncodedPayload {
  if (options.zstd && coded.length >= (options.zstdMinBytes ?? 64)) {
    const z = options.zstd.compress(coded, options.zstdLevel ?? 3);
    if (z.length < coded.length) return { payload: z, zstd: true };
  }
  return { payload: coded, zstd: false };
}

/** The coded bytes inside a (maybe zstd-wrapped) payload, checked against `size` (exact) or `max`. */
export function unwrap(payload: Uint8Array, zstdFlag: boolean, size: { exact: number } | { max: number }, zstd: ZstdBackend | undefined): Uint8Array {
  if (!zstdFlag) {
    if ('exact' in size && payload.length !== size.exact) throw new OfframpError('BAD_REQUEST', `payload has ${payload.length} bytes; expected ${size.exact}`);
    if ('max' in size && payload.length > size.max)
      throw new OfframpError('TOO_LARGE', `payload of ${payload.length} bytes exceeds the ${size.max} its shape can need`);
    return payload;
  }
  if (!zstd) throw new OfframpError('CODEC_UNAVAILABLE', 'payload is zstd-wrapped but no zstd backend was given');
  if (!('exact' in size)) throw new OfframpError('BAD_REQUEST', 'entropy-coded payloads are never zstd-wrapped');
  if (payload.length >= size.exact)
    throw new OfframpError('BAD_REQUEST', `zstd payload of ${payload.length} bytes is not smaller than the ${size.exact} it decodes to`);
  return zstd.decompress(payload, size.exact);
}

/**
 * Decodes a payload into float32 features. Throws {@link OfframpError}: BAD_REQUEST / TOO_LARGE
 * for a payload its rate point and shape cannot have produced, CODEC_UNAVAILABLE when zstd is
 * needed and not given. Every decoded value is finite: quantized codes by construction, floats
 * checked.
 */
export function decodeFeatures(payload: Uint8Array, zstdFlag: boolean, shape: readonly number[], rp: RatePoint, options: DecodeOptions = {}): Float32Array {
  const n = elementCount(shape);
  const out = options.out ?? new Float32Array(n);
  if (out.length !== n) throw new RangeError(`output buffer holds ${out.length} values; expected ${n}`);
  switch (rp.codec) {
    case 'entropy': {
      if (zstdFlag) throw new OfframpError('BAD_REQUEST', 'entropy-coded payloads are never zstd-wrapped');
      const bytes = unwrap(payload, false, { max: maxEncodedBytes(n) }, undefined);
      return rangeDecode(bytes, rp.tables, n / rp.tables.length, out, rp.step);
    }
    case 'uniform': {
      const bytes = unwrap(payload, zstdFlag, { exact: Math.ceil((n * rp.bits) / 8) }, options.zstd);
      const { scale, zeroPoint } = uniformParams(rp);
      return dequantize(unpackBits(bytes, rp.bits, n), shape, 0, scale, zeroPoint, out);
    }
    case 'float16':
      decodeFloat16(unwrap(payload, zstdFlag, { exact: 2 * n }, options.zstd), out);
      return rejectNonFinite(out);
    case 'float32':
      new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(unwrap(payload, zstdFlag, { exact: 4 * n }, options.zstd));
      return rejectNonFinite(out);
  }
}

function rejectNonFinite(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new OfframpError('BAD_REQUEST', `feature value ${i} is not finite (${x[i]})`);
  }
  return x;
}
