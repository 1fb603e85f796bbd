import { describe, expect, it } from 'vitest';
import { AgreementMeter, agreementScore, formatAgreement, tensorError } from '../../split/agreement.js';
import { MAX_CHANNEL_RANGES, parseRates, RangeTracker, rangeRows } from '../../split/rates.js';
import { failure } from './helpers.js';

describe('agreement figures', () => {
  it('computes max |Δ|, relative error and cosine exactly', () => {
    // y = (3, 4), ŷ = (3, 5): Δ = (0, 1); ‖Δ‖ / ‖y‖ = 1/5; cos = (9 + 20) / (5 · √34).
    const e = tensorError([3, 4], [3, 5]);
    expect(e.maxAbsError).toBe(1);
    expect(e.relError).toBeCloseTo(0.2, 15);
    expect(e.cosine).toBeCloseTo(29 / (5 * Math.sqrt(34)), 15);
    expect(tensorError([0, 0], [0, 0])).toEqual({ maxAbsError: 0, relError: 0, cosine: 1 });
    expect(tensorError([1, 0], [-1, 0]).cosine).toBe(-1);
    expect(tensorError(BigInt64Array.of(2n, 5n), BigInt64Array.of(2n, 7n)).maxAbsError).toBe(2);
  });

  it('keeps the worst over samples and outputs; top-1 for class logits', () => {
    const m = new AgreementMeter(['class-logits', 'tensor']);
    m.add(
      [
        [0, 1, 0],
        [1, 1],
      ],
      [
        [0, 2, 1],
        [1, 1],
      ],
    ); // same label; identical tensor
    m.add(
      [
        [5, 1, 0],
        [1, 0],
      ],
      [
        [0, 2, 1],
        [1, 0.5],
      ],
    ); // other label; tensor off
    const r = m.result();
    expect(r.top1).toBe(0.5);
    expect(r.maxAbsError).toBe(0.5);
    expect(r.relError).toBe(0.5);
    expect(r.cosine).toBeCloseTo(1 / Math.sqrt(1.25), 15);
    expect(agreementScore(r)).toBe(0.5);
    expect(agreementScore({ cosine: 0.9 })).toBe(0.9);
    expect(formatAgreement({ top1: 0.5 })).toBe('top-1 50.0%');
    expect(formatAgreement({ cosine: 0.999871, relError: 0.0123, maxAbsError: 0.00312 })).toBe('cos 0.99987; rel 1.2e-2; max|Δ| 3.1e-3');
  });
});

describe('rate points', () => {
  it('reads u1…u8, f16 and f32, and names what it does not know', async () => {
    expect(parseRates(['u8', 'u4', 'f16', 'f32'])).toEqual([
      { id: 'u8', codec: 'uniform', bits: 8 },
      { id: 'u4', codec: 'uniform', bits: 4 },
      { id: 'f16', codec: 'float16' },
      { id: 'f32', codec: 'float32' },
    ]);
    expect(await failure(() => parseRates(['u9']))).toBe(
      "INVALID_ARGUMENT: unknown rate point 'u9': use u1…u8 (bits per value, per-channel range), f16 or f32",
    );
    expect(await failure(() => parseRates(['u8', 'u8']))).toBe('INVALID_ARGUMENT: --rates names u8 twice');
    expect(await failure(() => parseRates([]))).toBe('INVALID_ARGUMENT: --rates needs at least one rate point (e.g. u8,u4,f16)');
  });

  it('calibrates one range per channel (dim 0), widened over samples; one per tensor for vectors and very many rows', () => {
    const t = new RangeTracker([2, 3]);
    t.observe([1, -2, 3, 0, 0, 0]);
    t.observe([0, 5, 1, 0, 0, 0]);
    // A constant channel still gets a non-empty range.
    expect(t.ranges()).toEqual({ min: [-2, 0], max: [5, Math.fround(1e-6)] });
    expect(rangeRows([10])).toBe(1);
    expect(rangeRows([MAX_CHANNEL_RANGES, 2])).toBe(MAX_CHANNEL_RANGES);
    expect(rangeRows([MAX_CHANNEL_RANGES + 1, 2])).toBe(1);
    const v = new RangeTracker([4]);
    v.observe([0.5, -0.25, 2, 1]);
    expect(v.ranges()).toEqual({ min: [-0.25], max: [2] });
  });
});
