import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packBits, unpackBits } from '../../bottleneck/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('packBits / unpackBits', () => {
  it('packs LSB-first with no padding between values (golden bytes)', () => {
    // 1 bit: 1,0,1,1,0,0,0,1 | 1 → 0b10001101, 0b00000001
    expect(hex(packBits(Uint8Array.from([1, 0, 1, 1, 0, 0, 0, 1, 1]), 1))).toBe('8d01');
    // 2 bits: 3,0,1,2 → 0b10_01_00_11
    expect(hex(packBits(Uint8Array.from([3, 0, 1, 2]), 2))).toBe('93');
    // 3 bits: 5,3,7 → bits 101 011 111 → byte0 = 0b11_011_101 = 0xdd, byte1 = 0b1
    expect(hex(packBits(Uint8Array.from([5, 3, 7]), 3))).toBe('dd01');
    // 4 bits: 1,2,3 → 0x21, 0x03
    expect(hex(packBits(Uint8Array.from([1, 2, 3]), 4))).toBe('2103');
    // 5 bits: 31, 1 → 11111 00001 → 0b00111111, 0b00 → 3f 00
    expect(hex(packBits(Uint8Array.from([31, 1]), 5))).toBe('3f00');
    // 7 bits: 127, 0, 1 → value 2 starts at bit 14 = bit 6 of byte 1 → 7f 40 00
    expect(hex(packBits(Uint8Array.from([127, 0, 1]), 7))).toBe('7f4000');
    expect(hex(packBits(Uint8Array.from([0, 255, 17]), 8))).toBe('00ff11');
  });

  for (let bits = 1; bits <= 8; bits++) {
    it(`round-trips bit for bit at ${bits} bits for every length 0..67`, () => {
      for (let n = 0; n < 68; n++) {
        const values = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n * 11) % (1 << bits));
        const packed = packBits(values, bits);
        expect(packed.length).toBe(Math.ceil((n * bits) / 8));
        expect(unpackBits(packed, bits, n)).toEqual(values);
      }
    });
  }

  it('round-trips random codes (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.nat(255), { maxLength: 300 }), (bits, raw) => {
        const values = Uint8Array.from(raw, (v) => v & ((1 << bits) - 1));
        expect(unpackBits(packBits(values, bits), bits, values.length)).toEqual(values);
      }),
    );
  });

  it('refuses a payload of the wrong length', () => {
    expect(() => unpackBits(new Uint8Array(3), 4, 4)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'packed payload has 3 bytes; 4 values at 4 bits need 2' }),
    );
  });

  it('refuses non-zero padding bits (one byte string per tensor)', () => {
    expect(() => unpackBits(Uint8Array.from([0x21, 0xf3]), 4, 3)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'packed payload has non-zero padding bits' }),
    );
  });

  it('refuses widths outside 1..8', () => {
    expect(() => packBits(new Uint8Array(1), 9)).toThrow(RangeError);
    expect(() => unpackBits(new Uint8Array(1), 0, 1)).toThrow(RangeError);
  });
});
