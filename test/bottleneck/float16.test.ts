import { describe, expect, it } from 'vitest';
import { decodeFloat16, encodeFloat16, fromHalfBits, toHalfBits } from '../../bottleneck/index.js';

describe('float16', () => {
  it('converts reference values exactly', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [2 ** -14, 0x0400],
      [2 ** -24, 0x0001],
      [1 / 3, 0x3555],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [65520, 0x7c00], // rounds up past the largest half: overflow to Infinity
      [1 + 2 ** -11, 0x3c00], // tie: to even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (up)
      [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: to even (0)
      [3 * 2 ** -25, 0x0002],
    ];
    for (const [value, bits] of cases) expect(toHalfBits(value).toString(16)).toBe(bits.toString(16));
    expect(toHalfBits(NaN) & 0x7c00).toBe(0x7c00);
    expect(Number.isNaN(fromHalfBits(0x7e00))).toBe(true);
  });

  it('round-trips every one of the 63,488 finite half values bit for bit', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      expect(toHalfBits(fromHalfBits(h))).toBe(h);
    }
  });

  it('encodes little-endian and decodes within half an ulp', () => {
    const x = Float32Array.from([1, -2, 0.1, 1000.7]);
    const bytes = encodeFloat16(x);
    expect(Buffer.from(bytes).toString('hex')).toBe('003c00c0662ed163');
    const y = decodeFloat16(bytes);
    for (let i = 0; i < x.length; i++) expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(Math.abs(x[i]!) * 2 ** -11);
  });
});
