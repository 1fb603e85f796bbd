import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cdfTables,
  decodeFeatures,
  encodeFeatures,
  entropySymbols,
  fromHalfBits,
  loadZstdWasm,
  maxPayloadBytes,
  rangeEncode,
  ratePointProblem,
  resolveRatePoints,
  uniformParams,
  type CdfTable,
  type RatePoint,
  type ZstdBackend,
} from '../../bottleneck/index.js';
import { loadBundle } from '../../protocol/bundle.js';
import type { EntropyTables } from '../../protocol/index.js';
import { TOTAL, cdfFromWeights, randomFloats, rng } from './random.fixture.js';
import { rleFrame } from './zstd-frames.fixture.js';

const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const table = (offset: number, cdf: number[]): CdfTable => ({ offset, cdf: Uint32Array.from(cdf) });

const SHAPE = [2, 7, 7];
const F32: RatePoint = { codec: 'float32' };
const F16: RatePoint = { codec: 'float16' };

let zstd: ZstdBackend;
beforeAll(async () => {
  zstd = await loadZstdWasm();
});

describe('entropy rate points', () => {
  // Channel 0: symbols -2..2; channel 1: 0..2. Shape [2, 1, 3].
  const rp: RatePoint = { codec: 'entropy', step: 0.5, tables: [table(-2, [0, 1000, 11000, 55000, 64000, TOTAL]), table(0, [0, 30000, 60000, TOTAL])] };

  it("quantizes to floor(x / step + 0.5), clamped to each channel's support, NaN to its low end", () => {
    // ch 0: 0.74 → 1.98 → 1; -100 → -2 (clamped); -0.25 → 0 (half rounds up)
    // ch 1: NaN → 0 (low end); 1e9 → 2 (clamped); 0.25 → 1
    const x = Float32Array.from([0.74, -100, -0.25, NaN, 1e9, 0.25]);
    if (rp.codec !== 'entropy') throw new Error('entropy');
    expect(Array.from(entropySymbols(x, rp))).toEqual([1, -2, 0, 0, 2, 1]);
    expect(Array.from(entropySymbols(Float32Array.from([Infinity, -Infinity, 0, -Infinity, Infinity, 0]), rp))).toEqual([2, -2, 0, 0, 2, 0]);
    const { payload, zstd: wrapped } = encodeFeatures(x, [2, 1, 3], rp);
    expect(wrapped).toBe(false);
    expect(hex(payload)).toBe(hex(rangeEncode([1, -2, 0, 0, 2, 1], rp.tables, 3)));
    expect(Array.from(decodeFeatures(payload, false, [2, 1, 3], rp))).toEqual([0.5, -1, 0, 0, 1, 0.5]);
  });

  it('decodes to exactly symbols × step, as float32 (random steps and values)', () => {
    const r = rng(11);
    const tables = [table(-60, Array.from(cdfFromWeights(new Array<number>(121).fill(1)))), table(-5, [0, 100, 65000, TOTAL])];
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 4, noNaN: true }), fc.integer(), (step, seed) => {
        const p: RatePoint = { codec: 'entropy', step, tables };
        const x = randomFloats(20, seed ^ Math.floor(r() * 1e9), -50, 50);
        const q = entropySymbols(x, p);
        const enc = encodeFeatures(x, [2, 2, 5], p);
        expect(Array.from(decodeFeatures(enc.payload, enc.zstd, [2, 2, 5], p))).toEqual(Array.from(q, (s) => Math.fround(s * step)));
      }),
      { numRuns: 300 },
    );
  });

  it('computes floor(x / step + 0.5) in float64 with a true division, like the Python reference (PROTOCOL.md §6.1)', () => {
    // x / step lands just below a half here, x · (1 / step) exactly on it.
    const cases: [number, number][] = [
      [0.875, 0.07],
      [-2.625, 0.35],
      [1.625, 0.13],
      [-1.375, 0.11],
    ];
    const wide = [table(-100, Array.from(cdfFromWeights(new Array<number>(201).fill(1))))];
    const reference = JSON.parse(
      execFileSync('python3', ['-c', 'import json, math, sys; print(json.dumps([math.floor(x / s + 0.5) for x, s in json.load(sys.stdin)]))'], {
        input: JSON.stringify(cases),
        encoding: 'utf8',
      }),
    ) as number[];
    expect(reference).toEqual([12, -8, 13, -12]);
    const got = cases.map(([x, step]) => entropySymbols(Float32Array.from([x]), { codec: 'entropy', step, tables: wide })[0]);
    expect(got).toEqual(reference);
  });

  it('never wraps entropy payloads in zstd, and refuses a zstd flag on them', () => {
    const zeros = new Float32Array(98);
    const flat = [table(-1, [0, 20000, 40000, TOTAL]), table(-1, [0, 20000, 40000, TOTAL])];
    const p: RatePoint = { codec: 'entropy', step: 1, tables: flat };
    const enc = encodeFeatures(zeros, SHAPE, p, { zstd, zstdMinBytes: 0 });
    expect(enc.zstd).toBe(false);
    expect(() => decodeFeatures(zstd.compress(enc.payload, 3), true, SHAPE, p, { zstd })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'entropy-coded payloads are never zstd-wrapped' }),
    );
  });

  it('refuses a payload longer than ⌈n·17/8⌉ + 8 bytes with TOO_LARGE; anything shorter decodes in support', () => {
    const p: RatePoint = { codec: 'entropy', step: 2, tables: [table(-3, [0, 10, 20, 65000, TOTAL]), table(0, [0, TOTAL])] };
    expect(maxPayloadBytes(SHAPE, p)).toBe(217);
    expect(() => decodeFeatures(new Uint8Array(218).fill(0xa5), false, SHAPE, p)).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', message: 'payload of 218 bytes exceeds the 217 its shape can need' }),
    );
    const y = decodeFeatures(new Uint8Array(217).fill(0xa5), false, SHAPE, p);
    expect(y.subarray(0, 49).every((v) => v >= -6 && v <= 0 && v % 2 === 0)).toBe(true);
    expect(y.subarray(49).every((v) => v === 0)).toBe(true);
    expect(Array.from(decodeFeatures(new Uint8Array(0), false, SHAPE, p)).every((v, i) => v === (i < 49 ? -6 : 0))).toBe(true);
  });
});

describe('uniform rate points', () => {
  it('per channel at 2 bits: exact codes, LSB-first packing, exact dequantized values', () => {
    // ch 0: [0, 3] → scale 1, zero point 0; ch 1: [-1, 2] → scale 1, zero point 1.
    const rp: RatePoint = { codec: 'uniform', bits: 2, min: [0, -1], max: [3, 2] };
    // codes: ch 0: 0.4 → 0, 1.5 → 2 (half up), 7 → 3 (clamped); ch 1: -5 → 0 (clamped), NaN → 0, 0.49 → 1
    const x = Float32Array.from([0.4, 1.5, 7, -5, NaN, 0.49]);
    const enc = encodeFeatures(x, [2, 1, 3], rp);
    expect(hex(enc.payload)).toBe('3804'); // 0 | 2<<2 | 3<<4 | 0<<6 = 0x38; 0 | 1<<2 = 0x04
    expect(enc.zstd).toBe(false);
    expect(Array.from(decodeFeatures(enc.payload, false, [2, 1, 3], rp))).toEqual([0, 2, 3, -1, -1, 0]);
    expect(uniformParams(rp)).toEqual({ scale: [1, 1], zeroPoint: [0, 1] });
  });

  it('one range for the tensor at 4 bits: float32 scale and zero point, as on the wire', () => {
    const rp: RatePoint = { codec: 'uniform', bits: 4, min: [-1], max: [1] };
    const scale = Math.fround(2 / 15);
    const zp = Math.fround(1 / scale); // 7.4999995
    expect(uniformParams(rp)).toEqual({ scale: [scale], zeroPoint: [zp] });
    // 0 → 7; 1 → 15; -1 → 0; 0.5 → 11
    const enc = encodeFeatures(Float32Array.from([0, 1, -1, 0.5]), [1, 2, 2], rp);
    expect(hex(enc.payload)).toBe('f7b0');
    expect(Array.from(decodeFeatures(enc.payload, false, [1, 2, 2], rp))).toEqual([7, 15, 0, 11].map((q) => Math.fround((q - zp) * scale)));
  });

  it('refuses a payload of the wrong length or with padding bits set', () => {
    const rp: RatePoint = { codec: 'uniform', bits: 2, min: [0, -1], max: [3, 2] };
    expect(() => decodeFeatures(fromHex('38'), false, [2, 1, 3], rp)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'payload has 1 bytes; expected 2' }),
    );
    expect(() => decodeFeatures(fromHex('380400'), false, [2, 1, 3], rp)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'payload has 3 bytes; expected 2' }),
    );
    expect(() => decodeFeatures(fromHex('3844'), false, [2, 1, 3], rp)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'packed payload has non-zero padding bits' }),
    );
  });

  it('errs by at most half a step inside the range, at every width', () => {
    for (let bits = 1; bits <= 8; bits++) {
      const rp: RatePoint = { codec: 'uniform', bits, min: [-3, 0], max: [5, 1] };
      const x = Float32Array.from([...randomFloats(49, bits, -3, 5), ...randomFloats(49, bits + 100, 0, 1)]);
      const enc = encodeFeatures(x, SHAPE, rp);
      expect(enc.payload.length).toBe(Math.ceil((98 * bits) / 8));
      expect(maxPayloadBytes(SHAPE, rp)).toBe(enc.payload.length);
      const y = decodeFeatures(enc.payload, false, SHAPE, rp);
      const { scale } = uniformParams(rp);
      for (let i = 0; i < 98; i++) expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(scale[i < 49 ? 0 : 1]! / 2 + 1e-6);
      // Decoded values re-encode to the same bytes.
      expect(hex(encodeFeatures(y, SHAPE, rp).payload)).toBe(hex(enc.payload));
    }
  });
});

describe('float16 and float32 rate points', () => {
  it('float16: little-endian binary16, decoded bit exact', () => {
    const x = Float32Array.from([1, -2, 0.1, 1000.7, 65504, -0, 2 ** -24]);
    const enc = encodeFeatures(x, [7], F16);
    expect(hex(enc.payload)).toBe('003c00c0662ed163ff7b00800100');
    const y = decodeFeatures(enc.payload, false, [7], F16);
    expect(Array.from(y)).toEqual([0x3c00, 0xc000, 0x2e66, 0x63d1, 0x7bff, 0x8000, 0x0001].map(fromHalfBits));
    expect(Object.is(y[5], -0)).toBe(true);
  });

  it('float32: the bytes of the values, decoded bit exact (-0 and subnormals included), from an unaligned view', () => {
    const x = Float32Array.from([1, -2, -0, 1.4e-45, 3.4028234663852886e38, ...randomFloats(93, 3)]);
    const enc = encodeFeatures(x, SHAPE, F32);
    expect(hex(enc.payload.subarray(0, 8))).toBe('0000803f000000c0');
    expect(hex(enc.payload)).toBe(hex(new Uint8Array(x.buffer)));
    const unaligned = new Uint8Array(enc.payload.length + 1).subarray(1);
    unaligned.set(enc.payload);
    const y = decodeFeatures(unaligned, false, SHAPE, F32);
    expect(hex(new Uint8Array(y.buffer))).toBe(hex(new Uint8Array(x.buffer)));
  });

  it('refuses non-finite values and wrong lengths', () => {
    expect(() => decodeFeatures(encodeFeatures(Float32Array.from([1, NaN]), [2], F16).payload, false, [2], F16)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'feature value 1 is not finite (NaN)' }),
    );
    // 1e5 overflows binary16 to Infinity.
    expect(() => decodeFeatures(encodeFeatures(Float32Array.from([1e5]), [1], F16).payload, false, [1], F16)).toThrow(
      /^feature value 0 is not finite \(Infinity\)$/,
    );
    expect(() => decodeFeatures(encodeFeatures(Float32Array.from([-Infinity]), [1], F32).payload, false, [1], F32)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'feature value 0 is not finite (-Infinity)' }),
    );
    expect(() => decodeFeatures(new Uint8Array(195), false, SHAPE, F16)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'payload has 195 bytes; expected 196' }),
    );
    expect(() => decodeFeatures(new Uint8Array(396), false, SHAPE, F32)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'payload has 396 bytes; expected 392' }),
    );
    expect([maxPayloadBytes(SHAPE, F16), maxPayloadBytes(SHAPE, F32)]).toEqual([196, 392]);
  });
});

describe('zstd wrapping (PROTOCOL.md §6.4)', () => {
  it('wraps only when smaller, and only from zstdMinBytes on (default 64)', () => {
    const zeros = encodeFeatures(new Float32Array(98), SHAPE, F32, { zstd });
    expect(zeros.zstd).toBe(true);
    expect(zeros.payload.length).toBeLessThan(392);
    expect(Array.from(decodeFeatures(zeros.payload, true, SHAPE, F32, { zstd }))).toEqual(new Array<number>(98).fill(0));
    const noise = encodeFeatures(randomFloats(98, 5), SHAPE, F32, { zstd });
    expect(noise.zstd).toBe(false);
    expect(noise.payload.length).toBe(392);
    const u4: RatePoint = { codec: 'uniform', bits: 4, min: [0], max: [1] };
    expect(encodeFeatures(new Float32Array(98), SHAPE, u4, { zstd }).zstd).toBe(false); // 49 bytes < 64
    const small = encodeFeatures(new Float32Array(98), SHAPE, u4, { zstd, zstdMinBytes: 0 });
    expect(small.zstd).toBe(true);
    expect(Array.from(decodeFeatures(small.payload, true, SHAPE, u4, { zstd }))).toEqual(new Array<number>(98).fill(0));
    expect(encodeFeatures(new Float32Array(98), SHAPE, F32).zstd).toBe(false); // no backend: not tried
  });

  it('refuses a frame that is not smaller than what it decodes to', () => {
    const frame = zstd.compress(new Uint8Array(randomFloats(98, 6).buffer), 3);
    expect(frame.length).toBeGreaterThanOrEqual(392);
    expect(() => decodeFeatures(frame, true, SHAPE, F32, { zstd })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: `zstd payload of ${frame.length} bytes is not smaller than the 392 it decodes to` }),
    );
  });

  it('TOO_LARGE for a frame claiming more than the tensor, BAD_REQUEST for one claiming less', () => {
    expect(() => decodeFeatures(rleFrame(1_000_000, 1000), true, SHAPE, F32, { zstd })).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', message: 'zstd frame claims 1000000 bytes; the declared tensor holds 392' }),
    );
    expect(() => decodeFeatures(rleFrame(100, 100), true, SHAPE, F32, { zstd })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'zstd frame holds 100 bytes; the declared tensor holds 392' }),
    );
    expect(Array.from(decodeFeatures(rleFrame(392, 392), true, SHAPE, F32, { zstd }))).toEqual(new Array<number>(98).fill(0));
  });

  it('CODEC_UNAVAILABLE when the payload is wrapped and no backend was given', () => {
    expect(() => decodeFeatures(rleFrame(392, 392), true, SHAPE, F32)).toThrow(expect.objectContaining({ code: 'CODEC_UNAVAILABLE' }));
  });
});

describe('arguments and rate point checks', () => {
  it('refuses features or an output buffer of the wrong size with RangeError', () => {
    expect(() => encodeFeatures(new Float32Array(97), SHAPE, F32)).toThrow(new RangeError('features have 97 values; shape [2, 7, 7] needs 98'));
    expect(() => decodeFeatures(new Uint8Array(392), false, SHAPE, F32, { out: new Float32Array(3) })).toThrow(
      new RangeError('output buffer holds 3 values; expected 98'),
    );
    const out = new Float32Array(98);
    expect(decodeFeatures(new Uint8Array(392), false, SHAPE, F32, { out })).toBe(out);
  });

  it('ratePointProblem names what does not fit the shape', () => {
    const t = table(0, [0, TOTAL]);
    expect(ratePointProblem(SHAPE, { codec: 'entropy', step: 0, tables: [t, t] })).toBe('step must be finite and positive, got 0');
    expect(ratePointProblem(SHAPE, { codec: 'entropy', step: Infinity, tables: [t, t] })).toBe('step must be finite and positive, got Infinity');
    expect(ratePointProblem(SHAPE, { codec: 'entropy', step: 1, tables: [t] })).toBe('1 tables for 2 channels');
    expect(ratePointProblem(SHAPE, { codec: 'uniform', bits: 9, min: [0], max: [1] })).toBe('bits must be 1..8, got 9');
    expect(ratePointProblem(SHAPE, { codec: 'uniform', bits: 4, min: [0, 0, 0], max: [1, 1, 1] })).toBe('range needs 1 or 2 entries, got 3');
    expect(ratePointProblem(SHAPE, { codec: 'uniform', bits: 4, min: [0, 1], max: [1, 1] })).toBe('range 1 is empty: [1, 1]');
    expect(ratePointProblem(SHAPE, { codec: 'uniform', bits: 4, min: [0], max: [1] })).toBeUndefined();
    expect(ratePointProblem(SHAPE, F16)).toBeUndefined();
  });
});

describe('the tiny bundle: golden fixtures from the Python exporter', () => {
  interface Golden {
    latent: number[][];
    rates: { s1: { symbols: number[][]; payloads: string[] } };
  }
  const golden = JSON.parse(readFileSync(join(TINY, 'golden.json'), 'utf8')) as Golden;

  it('its latents encode at s1 to the golden payloads and decode to the golden symbols', async () => {
    const bundle = await loadBundle(TINY, { checkGraphs: false });
    const [s1, u4, f16] = resolveRatePoints(bundle.manifest, bundle.tables);
    golden.latent.forEach((latent, i) => {
      const x = Float32Array.from(latent);
      const enc = encodeFeatures(x, SHAPE, s1!, { zstd });
      expect(enc.zstd).toBe(false);
      expect(hex(enc.payload)).toBe(golden.rates.s1.payloads[i]);
      expect(Array.from(decodeFeatures(enc.payload, false, SHAPE, s1!))).toEqual(golden.rates.s1.symbols[i]);
      expect(encodeFeatures(x, SHAPE, u4!).payload.length).toBe(49);
      expect(encodeFeatures(x, SHAPE, f16!).payload.length).toBe(196);
    });
    expect([maxPayloadBytes(SHAPE, s1!), maxPayloadBytes(SHAPE, u4!), maxPayloadBytes(SHAPE, f16!)]).toEqual([217, 49, 196]);
  });

  it('the tables file parses to the tables the golden payloads were coded with', () => {
    const t = cdfTables(JSON.parse(readFileSync(join(TINY, 'entropy-s1.json'), 'utf8')) as EntropyTables, 'entropy-s1.json');
    golden.rates.s1.symbols.forEach((s, i) => expect(hex(rangeEncode(s, t, 49))).toBe(golden.rates.s1.payloads[i]));
  });
});
