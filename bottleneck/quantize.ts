/**
 * Uniform affine quantization to 1..8 bits: q = clamp(round(x / scale + zeroPoint), 0, 2^b - 1),
 * x' = (q - zeroPoint) · scale. Scale and zero point are rounded to float32 before use, because
 * that is how they travel (protobuf `float`): encoder and decoder then compute with identical
 * parameters. NaN inputs quantize to 0; out-of-range inputs clamp.
 */

/** A value range, per tensor (numbers) or per channel (arrays, one entry per channel). */
export type QuantRange = { min: number; max: number } | { min: readonly number[]; max: readonly number[] };

/** Float32 scale and zero point for one channel covering [min, max] with 2^bits levels. */
export function affineParams(min: number, max: number, bits: number): { scale: number; zeroPoint: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new RangeError(`quantization range must be finite with min <= max, got [${min}, ${max}]`);
  }
  const levels = (1 << bits) - 1;
  let scale = Math.fround((max - min) / levels);
  // A constant channel (or a range below float32 resolution): any positive scale represents it.
  if (!(scale > 0) || !Number.isFinite(scale)) scale = 1;
  // `+ 0` turns -0 into 0, which proto3 then omits as the default.
  return { scale, zeroPoint: Math.fround(-min / scale) + 0 };
}

/** Per-channel geometry of a shape: `outer` blocks of `channels` channels of `inner` values. */
export function channelGeometry(shape: readonly number[], axis: number): { outer: number; channels: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, channels: shape[axis]!, inner };
}

/** Min and max of each channel (or of the whole tensor when `channels` is 1). */
export function observedRange(x: Float32Array, shape: readonly number[], axis: number, perChannel: boolean): { min: number[]; max: number[] } {
  const { outer, channels, inner } = perChannel ? channelGeometry(shape, axis) : { outer: 1, channels: 1, inner: x.length };
  const min = new Array<number>(channels).fill(Infinity);
  const max = new Array<number>(channels).fill(-Infinity);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let lo = min[c]!;
      let hi = max[c]!;
      for (const end = i + inner; i < end; i++) {
        const v = x[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      min[c] = lo;
      max[c] = hi;
    }
  }
  return { min, max };
}

/**
 * Quantizes `x` with one (scale, zeroPoint) per channel along `axis` (a single pair = per tensor).
 */
export function quantize(
  x: Float32Array,
  shape: readonly number[],
  axis: number,
  bits: number,
  scale: readonly number[],
  zeroPoint: readonly number[],
  out: Uint8Array = new Uint8Array(x.length),
): Uint8Array {
  const qmax = (1 << bits) - 1;
  const top = qmax + 1;
  const { outer, channels, inner } = scale.length === 1 ? { outer: 1, channels: 1, inner: x.length } : channelGeometry(shape, axis);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const inv = 1 / scale[c]!;
      const zp = zeroPoint[c]!;
      for (const end = i + inner; i < end; i++) {
        // round half up = floor(t + 0.5); `| 0` floors non-negative values. NaN fails both
        // comparisons and `NaN | 0` is 0.
        const t = x[i]! * inv + zp + 0.5;
        out[i] = t >= top ? qmax : t < 1 ? 0 : t | 0;
      }
    }
  }
  return out;
}

/** Dequantizes codes into float32: x' = (q - zeroPoint) · scale; finite by construction. */
export function dequantize(
  q: Uint8Array,
  shape: readonly number[],
  axis: number,
  scale: readonly number[],
  zeroPoint: readonly number[],
  out: Float32Array = new Float32Array(q.length),
): Float32Array {
  const { outer, channels, inner } = scale.length === 1 ? { outer: 1, channels: 1, inner: q.length } : channelGeometry(shape, axis);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const s = scale[c]!;
      const zp = zeroPoint[c]!;
      for (const end = i + inner; i < end; i++) out[i] = (q[i]! - zp) * s;
    }
  }
  return out;
}
