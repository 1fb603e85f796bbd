import { describe, expect, it } from 'vitest';
import { exitDecision } from '../../head/exit.js';
import { normalizeInto } from '../../protocol/normalize.js';
import { argmax, softmax } from '../../protocol/scores.js';

describe('softmax / argmax / exitDecision', () => {
  it('computes a stable softmax', () => {
    const p = softmax([0, Math.log(3)]);
    expect(Array.from(p)).toEqual([Math.fround(0.25), Math.fround(0.75)]);
    const big = softmax([1000, 1000]);
    expect(Array.from(big)).toEqual([0.5, 0.5]);
  });
  it('picks the first maximum, within a row of a batch', () => {
    expect(argmax([1, 3, 3, 0])).toBe(1);
    expect(argmax([9, 9, 0, 1, 5, 2], 3, 3)).toBe(1);
  });
  it('takes the exit exactly when the max probability reaches the threshold', () => {
    const logits = [0, Math.log(3)]; // p = 0.25, 0.75
    expect(exitDecision(logits, 0.75)).toEqual({ take: true, label: 1, confidence: Math.fround(0.75), probs: Float32Array.from([0.25, 0.75]) });
    expect(exitDecision(logits, 0.7500001).take).toBe(false);
    expect(exitDecision(logits, Infinity).take).toBe(false); // how the device computes an exit without deciding
  });
  it('reads one row of a batch at an offset', () => {
    const batch = [5, 5, 0, Math.log(3), 9, 9];
    expect(exitDecision(batch, 0.75, 2, 2)).toEqual({ take: true, label: 1, confidence: Math.fround(0.75), probs: Float32Array.from([0.25, 0.75]) });
  });
});

describe('normalizeInto', () => {
  it('applies (raw·scale − mean) / std per channel at an offset', () => {
    const out = new Float32Array(6);
    const input = {
      shape: [2, 1, 2],
      layout: 'NCHW' as const,
      normalization: { scale: 0.5, mean: [1, 0], std: [2, 4] },
      raw: { dtype: 'uint8' as const, shape: [4], layout: 'plain' as const },
    };
    normalizeInto(Uint8Array.from([2, 6, 8, 16]), input, out, 2);
    expect(Array.from(out)).toEqual([0, 0, 0, 1, 1, 2]);
  });
});
