import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../protocol/manifest.js';
import { denormalize, normalizeInto } from '../../protocol/normalize.js';

type Input = Manifest['input'];

const input = (layout: Input['layout'], shape: number[], raw: Input['raw'], scale: number, mean: number[], std: number[]): Input => ({
  shape,
  layout,
  normalization: { scale, mean, std },
  raw,
});

// Two channels of two pixels, every result exact in float32: channel 0 (x·0.5 − 1) / 2,
// channel 1 (x·0.5 − 2) / 4.
const MEAN = [1, 2];
const STD = [2, 4];

describe('normalizeInto', () => {
  it('NCHW, raw CHW: (raw · scale − mean[c]) / std[c] channel by channel', () => {
    const spec = input('NCHW', [2, 1, 2], { dtype: 'uint8', shape: [2, 1, 2], layout: 'CHW' }, 0.5, MEAN, STD);
    // raw: c0 = [10, 20], c1 = [30, 40] → [4/2, 9/2, 13/4, 18/4]
    expect(Array.from(normalizeInto(Uint8Array.from([10, 20, 30, 40]), spec, new Float32Array(4)))).toEqual([2, 4.5, 3.25, 4.5]);
  });

  it('writes at an offset into a batch buffer and leaves the rest alone', () => {
    const spec = input('NCHW', [2, 1, 2], { dtype: 'uint8', shape: [2, 1, 2], layout: 'plain' }, 0.5, MEAN, STD);
    const out = new Float32Array(6).fill(-7);
    normalizeInto([10, 20, 30, 40], spec, out, 1);
    expect(Array.from(out)).toEqual([-7, 2, 4.5, 3.25, 4.5, -7]);
  });

  it('NHWC: the channel is the last dim (interleaved values)', () => {
    const spec = input('NHWC', [1, 2, 2], { dtype: 'uint8', shape: [1, 2, 2], layout: 'HWC' }, 0.5, MEAN, STD);
    // pixel 0: c0 = 10, c1 = 30; pixel 1: c0 = 20, c1 = 40
    expect(Array.from(normalizeInto(Uint8Array.from([10, 30, 20, 40]), spec, new Float32Array(4)))).toEqual([2, 3.25, 4.5, 4.5]);
  });

  it('raw HWC into an NCHW model: transposed, then per channel', () => {
    const spec = input('NCHW', [2, 1, 2], { dtype: 'uint8', shape: [1, 2, 2], layout: 'HWC' }, 0.5, MEAN, STD);
    expect(Array.from(normalizeInto(Uint8Array.from([10, 30, 20, 40]), spec, new Float32Array(4)))).toEqual([2, 4.5, 3.25, 4.5]);
    // Three channels of 2×2: value = 10·pixel + channel; out[c·4 + p] = raw[p·3 + c].
    const rgb = input('NCHW', [3, 2, 2], { dtype: 'uint8', shape: [2, 2, 3], layout: 'HWC' }, 1, [0], [1]);
    const raw = Uint8Array.from({ length: 12 }, (_, i) => 10 * Math.floor(i / 3) + (i % 3));
    expect(Array.from(normalizeInto(raw, rgb, new Float32Array(12)))).toEqual([0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32]);
  });

  it('broadcasts a single mean and std over every channel', () => {
    const spec = input('NCHW', [3, 1, 1], { dtype: 'uint8', shape: [3, 1, 1], layout: 'plain' }, 1 / 4, [0.5], [0.25]);
    expect(Array.from(normalizeInto([0, 2, 4], spec, new Float32Array(3)))).toEqual([-2, 0, 2]);
  });

  it('the Fashion-MNIST bundles: one plane, 1/255, mean 0, std 1', () => {
    const spec = input('NCHW', [1, 2, 2], { dtype: 'uint8', shape: [2, 2], layout: 'plain' }, 1 / 255, [0], [1]);
    expect(Array.from(normalizeInto([0, 51, 255, 102], spec, new Float32Array(4)))).toEqual([0, 0.2, 1, 0.4].map(Math.fround));
  });

  it('NC: mean[c] and std[c] index the channel, dim 0 (manifest-check.ts accepts shape[0] entries for them)', () => {
    const spec = input('NC', [3], { dtype: 'uint8', shape: [3], layout: 'plain' }, 1, [0, 10, 20], [1, 2, 4]);
    expect(Array.from(normalizeInto([1, 2, 3], spec, new Float32Array(3)))).toEqual([1, -4, -4.25]);
  });
});

describe('denormalize', () => {
  it('inverts normalizeInto for every byte value, per channel, in every layout', () => {
    const layouts: Input[] = [
      input('NCHW', [3, 16, 16], { dtype: 'uint8', shape: [3, 16, 16], layout: 'CHW' }, 1 / 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
      input('NHWC', [16, 16, 3], { dtype: 'uint8', shape: [16, 16, 3], layout: 'HWC' }, 1 / 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
      input('NCHW', [3, 16, 16], { dtype: 'uint8', shape: [16, 16, 3], layout: 'HWC' }, 1 / 255, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
      input('NCHW', [1, 16, 48], { dtype: 'uint8', shape: [16, 48], layout: 'plain' }, 1 / 255, [0], [1]),
    ];
    const raw = Uint8Array.from({ length: 768 }, (_, i) => (i * 7) % 256);
    for (const spec of layouts) {
      const x = normalizeInto(raw, spec, new Float32Array(raw.length));
      expect(Array.from(denormalize(x, spec))).toEqual(Array.from(raw));
    }
  });

  it('HWC raw from an NCHW input: back to interleaved order', () => {
    const spec = input('NCHW', [2, 1, 2], { dtype: 'uint8', shape: [1, 2, 2], layout: 'HWC' }, 0.5, MEAN, STD);
    expect(Array.from(denormalize([2, 4.5, 3.25, 4.5], spec))).toEqual([10, 30, 20, 40]);
  });

  it('uint8 raw: rounds to nearest and clamps to 0..255', () => {
    const spec = input('NCHW', [1, 1, 5], { dtype: 'uint8', shape: [5], layout: 'plain' }, 1, [0], [1]);
    const out = denormalize([-1, 2.4, 2.5, 254.6, 300], spec);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(Array.from(out)).toEqual([0, 2, 3, 255, 255]);
  });

  it('float32 raw: exact, unrounded', () => {
    const spec = input('NCHW', [2, 1, 1], { dtype: 'float32', shape: [2, 1, 1], layout: 'plain' }, 0.5, MEAN, STD);
    const out = denormalize([0.25, -0.5], spec);
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(out)).toEqual([3, 0]); // (0.25·2 + 1) / 0.5, (−0.5·4 + 2) / 0.5
  });
});
