/**
 * The feature codec: the pure, deterministic function pair both sides use.
 *
 * encodeFeatures: float32 tensor → quantize (1..8 bits, per tensor or per channel) or float16 or
 * float32 → dense bit-pack → zstd only when it shrinks the payload. decodeFeatures reverses it,
 * after checking everything against `limits` and the declared shape, so a hostile payload costs
 * no more memory than the declared tensor.
 */
import { OfframpError } from '../protocol/errors.js';
import { DEFAULT_FRAME_LIMITS, type FrameLimits } from '../protocol/limits.js';
import { packedByteLength, type Codec, type TensorEncoding } from '../protocol/messages.js';
import { checkEncoding } from '../protocol/validate.js';
import { packBits, unpackBits } from './bitpack.js';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import { affineParams, dequantize, observedRange, quantize, type QuantRange } from './quantize.js';
import type { ZstdBackend } from './zstd.js';

/** How to encode a feature tensor. */
export interface EncodeSpec {
  /** Tensor shape, e.g. [1, C, H, W]. */
  shape: readonly number[];
  /** 1..8 (quantized), 16 (float16) or 32 (float32 passthrough). */
  bits: number;
  /** 'channel': one scale and zero point per index of `axis`. Default 'tensor'. */
  granularity?: 'tensor' | 'channel';
  /** Channel axis; default 1 (NCHW). */
  axis?: number;
  /**
   * Clamping range, e.g. the bundle's calibrated bottleneck range (per channel: arrays). Absent:
   * the sample's own min and max.
   */
  range?: QuantRange;
  /** 'auto' (default): zstd when a backend is given and it shrinks the payload. */
  codec?: Codec | 'auto';
  /** zstd level; default 3. */
  zstdLevel?: number;
  /**
   * 'auto' does not try zstd below this packed size (default 128 B): under ~100 B its frame
   * overhead eats the gain, and trying costs ~20 µs (bench/codec.bench.ts).
   */
  zstdMinBytes?: number;
}

/** What {@link encodeFeatures} produces: the bytes to send and how to read them. */
export interface EncodedFeatures {
  bytes: Uint8Array;
  meta: TensorEncoding;
}

/** Options of {@link decodeFeatures}. */
export interface DecodeOptions {
  limits?: FrameLimits;
  /** Needed when `meta.codec` is 'zstd'. */
  zstd?: ZstdBackend;
  /** Reuse this output buffer (must hold exactly the tensor's element count). */
  out?: Float32Array;
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function rangeParams(x: Float32Array, spec: EncodeSpec, axis: number, bits: number): { scale: number[]; zeroPoint: number[] } {
  const perChannel = spec.granularity === 'channel';
  const channels = perChannel ? spec.shape[axis]! : 1;
  let min: readonly number[];
  let max: readonly number[];
  if (spec.range === undefined) {
    ({ min, max } = observedRange(x, spec.shape, axis, perChannel));
  } else {
    min = typeof spec.range.min === 'number' ? new Array<number>(channels).fill(spec.range.min) : spec.range.min;
    max = typeof spec.range.max === 'number' ? new Array<number>(channels).fill(spec.range.max) : spec.range.max;
    if (min.length !== channels || max.length !== channels) {
      throw new RangeError(`range has ${min.length} entries; expected ${channels}`);
    }
  }
  const scale: number[] = [];
  const zeroPoint: number[] = [];
  for (let c = 0; c < channels; c++) {
    const p = affineParams(min[c]!, max[c]!, bits);
    scale.push(p.scale);
    zeroPoint.push(p.zeroPoint);
  }
  return { scale, zeroPoint };
}

/** Encodes a float32 feature tensor for the wire. Throws RangeError on a bad spec. */
export function encodeFeatures(x: Float32Array, spec: EncodeSpec, zstd?: ZstdBackend): EncodedFeatures {
  const n = elementCount(spec.shape);
  if (x.length !== n) throw new RangeError(`tensor has ${x.length} values; shape [${spec.shape.join(', ')}] needs ${n}`);
  const bits = spec.bits;
  const codecWanted = spec.codec ?? 'auto';
  if (codecWanted === 'zstd' && !zstd) throw new OfframpError('CODEC_UNAVAILABLE', 'codec zstd was asked for but no zstd backend was given');
  let packed: Uint8Array;
  let scale: number[] = [];
  let zeroPoint: number[] = [];
  let axis = 0;
  if (bits === 32) {
    packed = new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength));
  } else if (bits === 16) {
    packed = encodeFloat16(x);
  } else if (Number.isInteger(bits) && bits >= 1 && bits <= 8) {
    axis = spec.axis ?? 1;
    if (spec.granularity === 'channel' && (axis < 0 || axis >= spec.shape.length)) {
      throw new RangeError(`axis ${axis} is outside shape [${spec.shape.join(', ')}]`);
    }
    ({ scale, zeroPoint } = rangeParams(x, spec, axis, bits));
    if (scale.length === 1) axis = 0;
    packed = packBits(quantize(x, spec.shape, axis, bits, scale, zeroPoint), bits);
  } else {
    throw new RangeError(`bits must be 1..8, 16 or 32, got ${bits}`);
  }
  const { bytes, codec } = compressIfSmaller(packed, spec, zstd);
  return {
    bytes,
    meta: { shape: [...spec.shape], bits, scale, zeroPoint, axis, codec, uncompressedBytes: packed.length },
  };
}

/** zstd when asked for, or in 'auto' mode when the packed size is worth trying and it shrinks. */
function compressIfSmaller(packed: Uint8Array, spec: Pick<EncodeSpec, 'codec' | 'zstdLevel' | 'zstdMinBytes'>, zstd: ZstdBackend | undefined): { bytes: Uint8Array; codec: Codec } {
  const codecWanted = spec.codec ?? 'auto';
  const worthTrying = codecWanted === 'zstd' || packed.length >= (spec.zstdMinBytes ?? 128);
  if (zstd && codecWanted !== 'none' && worthTrying) {
    const compressed = zstd.compress(packed, spec.zstdLevel ?? 3);
    if (compressed.length < packed.length) return { bytes: compressed, codec: 'zstd' };
  }
  return { bytes: packed, codec: 'none' };
}

/**
 * Encodes a raw uint8 sample (an image, for the full-offload path) as 8-bit values with scale 1
 * and zero point 0, zstd-compressed when that shrinks it (the same rule as {@link encodeFeatures}).
 */
export function encodeRawSample(sample: Uint8Array, shape: readonly number[], zstd?: ZstdBackend, spec: Pick<EncodeSpec, 'codec' | 'zstdLevel' | 'zstdMinBytes'> = {}): EncodedFeatures {
  const n = elementCount(shape);
  if (sample.length !== n) throw new RangeError(`sample has ${sample.length} values; shape [${shape.join(', ')}] needs ${n}`);
  if (spec.codec === 'zstd' && !zstd) throw new OfframpError('CODEC_UNAVAILABLE', 'codec zstd was asked for but no zstd backend was given');
  const { bytes, codec } = compressIfSmaller(sample, spec, zstd);
  return { bytes, meta: { shape: [...shape], bits: 8, scale: [1], zeroPoint: [0], axis: 0, codec, uncompressedBytes: n } };
}

/**
 * Decodes wire bytes into float32 values. Throws {@link OfframpError}: BAD_REQUEST / TOO_LARGE /
 * SHAPE_MISMATCH for inconsistent input, CODEC_UNAVAILABLE when zstd is needed but not given.
 * Quantized tensors decode to finite values by construction; float tensors holding NaN or
 * ±Infinity are refused.
 */
export function decodeFeatures(bytes: Uint8Array, meta: TensorEncoding, options: DecodeOptions = {}): Float32Array {
  const limits = options.limits ?? DEFAULT_FRAME_LIMITS;
  const n = checkEncoding(meta, limits);
  const size = packedByteLength(n, meta.bits);
  let packed: Uint8Array;
  if (meta.codec === 'zstd') {
    if (!options.zstd) throw new OfframpError('CODEC_UNAVAILABLE', 'payload is zstd-compressed but no zstd backend was given');
    if (bytes.length >= size) throw new OfframpError('BAD_REQUEST', `zstd payload of ${bytes.length} bytes is not smaller than the ${size} it decodes to`);
    packed = options.zstd.decompress(bytes, size);
  } else {
    if (bytes.length !== size) throw new OfframpError('BAD_REQUEST', `payload has ${bytes.length} bytes; expected ${size}`);
    packed = bytes;
  }
  const out = options.out ?? new Float32Array(n);
  if (out.length !== n) throw new RangeError(`output buffer holds ${out.length} values; expected ${n}`);
  if (meta.bits === 32) {
    // Copy byte-wise: `packed` may sit at an offset that is not a multiple of 4.
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(packed);
    rejectNonFinite(out);
  } else if (meta.bits === 16) {
    decodeFloat16(packed, out);
    rejectNonFinite(out);
  } else {
    dequantize(unpackBits(packed, meta.bits, n), meta.shape, meta.axis, meta.scale, meta.zeroPoint, out);
  }
  return out;
}

function rejectNonFinite(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) throw new OfframpError('BAD_REQUEST', `feature value ${i} is not finite (${x[i]})`);
  }
}
