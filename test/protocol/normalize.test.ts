import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../protocol/manifest.js';
import { denormalizeToUint8, normalizeInto } from '../../protocol/normalize.js';

const input = (scale: number, mean: number[], std: number[], channels: number): Manifest['input'] => ({
  shape: [channels, 4, 64], layout: 'NCHW', normalization: { scale, mean, std }, raw: { dtype: 'uint8', shape: [channels, 4, 64] },
});

describe('normalisation', () => {
  it('denormalizeToUint8 inverts normalizeInto for every byte value, per channel', () => {
    for (const spec of [input(1 / 255, [0], [1], 1), input(1 / 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 3)]) {
      const channels = spec.shape[0]!;
      const raw = Uint8Array.from({ length: channels * 256 }, (_, i) => i % 256);
      const x = normalizeInto(raw, spec, new Float32Array(raw.length));
      expect(Array.from(denormalizeToUint8(x, spec))).toEqual(Array.from(raw));
    }
  });
  it('clamps what lies outside the raw range', () => {
    const spec = input(1 / 255, [0], [1], 1);
    const out = denormalizeToUint8(Float32Array.from({ length: 256 }, (_, i) => (i % 2 ? 2 : -1)), spec);
    expect(out[0]).toBe(0);
    expect(out[1]).toBe(255);
  });
});
