/**
 * IEEE 754 binary16 conversion (Node 20 has no Float16Array): round to nearest, ties to even;
 * overflow to ±Infinity, NaN kept as a quiet NaN.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits of `value` (rounded to float32 first). */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf or NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // underflow to ±0
    mant |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // may carry into the exponent: correct
  return sign | h;
}

/** The number binary16 bits `h` stand for. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Float32 values → little-endian binary16 bytes. */
export function encodeFloat16(values: Float32Array): Uint8Array {
  const out: Uint8Array = new Uint8Array(values.length * 2);
  for (let i = 0, o = 0; i < values.length; i++, o += 2) {
    const h = toHalfBits(values[i]!);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
  }
  return out;
}

/** Little-endian binary16 bytes → float32 values. */
export function decodeFloat16(bytes: Uint8Array, out: Float32Array = new Float32Array(bytes.length >>> 1)): Float32Array {
  for (let i = 0, o = 0; i < out.length; i++, o += 2) out[i] = fromHalfBits(bytes[o]! | (bytes[o + 1]! << 8));
  return out;
}
