import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFeatures, encodeFeatures, loadZstdWasm, type ZstdBackend } from '../../bottleneck/index.js';
import { decodeFrame, encodeFrame, resolveFrameLimits, type TensorEncoding } from '../../protocol/index.js';

let zstd: ZstdBackend;
beforeAll(async () => {
  zstd = await loadZstdWasm();
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Deterministic pseudo-random floats in [lo, hi). */
function randomFloats(n: number, seed: number, lo = -3, hi = 5): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  });
}

describe('encodeFeatures: golden bytes', () => {
  it('quantizes a per-tensor [1,2,2] at 2 bits over range [0, 3]', () => {
    const { bytes, meta } = encodeFeatures(Float32Array.from([0, 1, 2, 3]), { shape: [1, 2, 2], bits: 2, range: { min: 0, max: 3 }, codec: 'none' });
    expect(hex(bytes)).toBe('e4'); // codes 0,1,2,3 → 0b11_10_01_00
    expect(meta).toEqual({ shape: [1, 2, 2], bits: 2, scale: [1], zeroPoint: [0], axis: 0, codec: 'none', uncompressedBytes: 1 });
  });

  it('quantizes per channel at 4 bits from the sample range, clamping nothing', () => {
    const x = Float32Array.from([0, 15, 7.5, 3, -1, 1, 0, 0.5]);
    const { bytes, meta } = encodeFeatures(x, { shape: [1, 2, 4], bits: 4, granularity: 'channel' });
    // channel 0 range [0, 15] → scale 1, codes 0, 15, 8 (7.5 rounds half up), 3
    // channel 1 range [-1, 1] → scale fround(2/15), zp fround(1/scale) = 7.4999995 (float32, as on
    // the wire) → codes 0, 15, 7 (0 → 7.4999995), 11 (0.5/scale + zp = 11.25)
    expect(hex(bytes)).toBe('f038f0b7');
    expect(meta.scale).toEqual([1, Math.fround(2 / 15)]);
    expect(meta.zeroPoint).toEqual([0, Math.fround(1 / Math.fround(2 / 15))]);
    expect(meta.axis).toBe(1);
  });

  it('clamps values outside the bundle range to the end codes', () => {
    const { bytes } = encodeFeatures(Float32Array.from([-5, 0.5, 9]), { shape: [3], bits: 1, range: { min: 0, max: 1 }, codec: 'none' });
    // codes 0, 1 (0.5 rounds half up), 1 → 0b110
    expect(hex(bytes)).toBe('06');
  });

  it('passes float32 through unchanged (little-endian)', () => {
    const { bytes, meta } = encodeFeatures(Float32Array.from([1, -2]), { shape: [2], bits: 32, codec: 'none' });
    expect(hex(bytes)).toBe('0000803f000000c0');
    expect(meta).toEqual({ shape: [2], bits: 32, scale: [], zeroPoint: [], axis: 0, codec: 'none', uncompressedBytes: 8 });
  });
});

describe('quantize → dequantize', () => {
  for (let bits = 1; bits <= 8; bits++) {
    for (const granularity of ['tensor', 'channel'] as const) {
      it(`errs by at most half a step at ${bits} bits per ${granularity}`, () => {
        const shape = [1, 3, 5, 7]; // odd sizes on purpose
        const x = randomFloats(105, bits * 31 + (granularity === 'tensor' ? 0 : 7));
        const { bytes, meta } = encodeFeatures(x, { shape, bits, granularity, codec: 'none' });
        expect(bytes.length).toBe(Math.ceil((105 * bits) / 8));
        const y = decodeFeatures(bytes, meta);
        const inner = 35;
        for (let i = 0; i < x.length; i++) {
          const s = meta.scale[meta.scale.length === 1 ? 0 : Math.floor(i / inner) % 3]!;
          expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(s / 2 + 1e-6 * Math.abs(x[i]!) + 1e-7);
        }
      });
    }
  }

  it('decodes a constant tensor exactly', () => {
    const x = new Float32Array(10).fill(0.3);
    const { bytes, meta } = encodeFeatures(x, { shape: [10], bits: 3 });
    expect(decodeFeatures(bytes, meta)).toEqual(x);
  });

  it('re-encoding decoded features gives the same bytes (deterministic, idempotent)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer(), (bits, seed) => {
        const spec = { shape: [1, 2, 7, 7], bits, range: { min: -3, max: 5 }, codec: 'none' as const };
        const a = encodeFeatures(randomFloats(98, seed), spec);
        const b = encodeFeatures(decodeFeatures(a.bytes, a.meta), spec);
        expect(hex(b.bytes)).toBe(hex(a.bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips float16 within half an ulp and refuses NaN on decode', () => {
    const x = randomFloats(98, 3);
    const { bytes, meta } = encodeFeatures(x, { shape: [98], bits: 16, codec: 'none' });
    const y = decodeFeatures(bytes, meta);
    for (let i = 0; i < x.length; i++) expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(Math.abs(x[i]!) * 2 ** -11 + 2 ** -25);
    const nan = encodeFeatures(Float32Array.from([1, NaN]), { shape: [2], bits: 16, codec: 'none' });
    expect(() => decodeFeatures(nan.bytes, nan.meta)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: 'feature value 1 is not finite (NaN)' }));
  });

  it('round-trips float32 bit for bit, from an unaligned view, and refuses Infinity', () => {
    const x = randomFloats(11, 9);
    const { bytes, meta } = encodeFeatures(x, { shape: [11], bits: 32, codec: 'none' });
    const unaligned = new Uint8Array(bytes.length + 1).subarray(1);
    unaligned.set(bytes);
    expect(decodeFeatures(unaligned, meta)).toEqual(x);
    const inf = encodeFeatures(Float32Array.from([Infinity]), { shape: [1], bits: 32, codec: 'none' });
    expect(() => decodeFeatures(inf.bytes, inf.meta)).toThrow(/not finite \(Infinity\)/);
  });

  it('never decodes NaN or Infinity from quantized payloads: every code × hostile parameters', () => {
    // Any frame the validator accepts dequantizes to finite values: scale and zero point are
    // finite and (levels + |zp|)·scale fits float32, so (q − zp)·scale cannot overflow.
    const limits = resolveFrameLimits();
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const [scale, zp] of [[3.4e38 / 512, 255], [1e-45, 0], [1e30, -1e7], [Math.fround(3e38 / 300), -44]] as const) {
      const meta: TensorEncoding = { shape: [256], bits: 8, scale: [Math.fround(scale)], zeroPoint: [Math.fround(zp)], axis: 0, codec: 'none', uncompressedBytes: 256 };
      let y: Float32Array;
      try {
        y = decodeFeatures(all, meta, { limits });
      } catch (err) {
        expect(err).toMatchObject({ code: 'BAD_REQUEST' });
        continue;
      }
      for (const v of y) expect(Number.isFinite(v)).toBe(true);
    }
  });
});

describe('zstd', () => {
  it('is used only when it shrinks the payload', () => {
    const small = encodeFeatures(randomFloats(98, 1), { shape: [1, 2, 7, 7], bits: 2 }, zstd);
    expect(small.meta.codec).toBe('none'); // 25 random bytes do not compress
    const sparse = new Float32Array(12 * 28 * 28);
    sparse[5] = 1;
    const big = encodeFeatures(sparse, { shape: [1, 12, 28, 28], bits: 4, range: { min: 0, max: 1 } }, zstd);
    expect(big.meta.codec).toBe('zstd');
    expect(big.bytes.length).toBeLessThan(big.meta.uncompressedBytes / 10);
    expect(decodeFeatures(big.bytes, big.meta, { zstd })).toEqual(sparse);
  });

  it("is not tried under zstdMinBytes by 'auto', and an explicit 'zstd' still falls back when it does not help", () => {
    const zeros = new Float32Array(100);
    expect(encodeFeatures(zeros, { shape: [100], bits: 8, range: { min: 0, max: 1 } }, zstd).meta.codec).toBe('none');
    expect(encodeFeatures(zeros, { shape: [100], bits: 8, range: { min: 0, max: 1 }, zstdMinBytes: 0 }, zstd).meta.codec).toBe('zstd');
    const noise = encodeFeatures(randomFloats(98, 5), { shape: [98], bits: 2, codec: 'zstd' }, zstd);
    expect(noise.meta.codec).toBe('none');
    expect(noise.bytes.length).toBe(25);
  });

  it('round-trips through a real frame: encode → InferRequest → decodeFrame → decode', () => {
    const x = new Float32Array(12 * 7 * 7).map((_, i) => (i % 9 === 0 ? 1 : 0));
    const enc = encodeFeatures(x, { shape: [1, 12, 7, 7], bits: 8, range: { min: 0, max: 1 } }, zstd);
    expect(enc.meta.codec).toBe('zstd');
    const frame = encodeFrame({ type: 'inferRequest', id: 'a', name: 'features', datatype: 'FP32', encoding: enc.meta, raw: enc.bytes, exitIndex: -1, exitConfidence: 0, deadlineMs: 0, graph: 'tail' });
    const r = decodeFrame(frame);
    if (!r.ok || r.message.type !== 'inferRequest') throw new Error('frame did not decode');
    expect(decodeFeatures(r.message.raw, r.message.encoding, { zstd })).toEqual(x);
  });

  it('refuses zstd payloads when no backend is given', () => {
    const enc = encodeFeatures(new Float32Array(1000), { shape: [1000], bits: 8, range: { min: 0, max: 1 } }, zstd);
    expect(() => decodeFeatures(enc.bytes, enc.meta)).toThrow(expect.objectContaining({ code: 'CODEC_UNAVAILABLE' }));
    expect(() => encodeFeatures(new Float32Array(4), { shape: [4], bits: 8, codec: 'zstd' })).toThrow(expect.objectContaining({ code: 'CODEC_UNAVAILABLE' }));
  });
});

describe('decodeFeatures: inconsistent input', () => {
  const meta: TensorEncoding = { shape: [1, 2, 7, 7], bits: 4, scale: [0.1], zeroPoint: [0], axis: 0, codec: 'none', uncompressedBytes: 49 };
  it('refuses a payload of the wrong size', () => {
    expect(() => decodeFeatures(new Uint8Array(48), meta)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: 'payload has 48 bytes; expected 49' }));
  });
  it('refuses metadata whose size does not match its shape', () => {
    expect(() => decodeFeatures(new Uint8Array(50), { ...meta, uncompressedBytes: 50 })).toThrow(/^uncompressed_bytes 50 does not match/);
  });
  it('refuses a shape over the element limit before allocating', () => {
    expect(() => decodeFeatures(new Uint8Array(1), { ...meta, shape: [1 << 30], uncompressedBytes: 1 << 29 })).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
  });
  it('refuses an output buffer of the wrong size', () => {
    expect(() => decodeFeatures(new Uint8Array(49), meta, { out: new Float32Array(3) })).toThrow(RangeError);
  });
});
