import { beforeAll, describe, expect, it } from 'vitest';
import { checkSample } from '../../head/input.js';
import type { Manifest } from '../../protocol/manifest.js';
import { loadManifest } from './helpers.js';

let tiny: Manifest;
beforeAll(async () => {
  ({ manifest: tiny } = await loadManifest());
});

/** The tiny manifest with another input description. */
function withInput(input: Manifest['input'], id = 'tiny'): Manifest {
  return { ...structuredClone(tiny), id, input };
}

const floatInput = (): Manifest['input'] => ({
  shape: [1, 28, 28],
  layout: 'NCHW',
  normalization: { scale: 1, mean: [0.5], std: [0.25] },
  raw: { dtype: 'float32', shape: [28, 28], layout: 'plain' },
});

/** A 2×2 camera frame, three interleaved channels, for a model taking NCHW. */
const hwcInput = (): Manifest['input'] => ({
  shape: [3, 2, 2],
  layout: 'NCHW',
  normalization: { scale: 1, mean: [0, 10, 20], std: [1, 1, 2] },
  raw: { dtype: 'uint8', shape: [2, 2, 3], layout: 'HWC' },
});

const invalid = (sample: unknown, m: Manifest, message: string): void => {
  expect(() => checkSample(sample, m)).toThrow(expect.objectContaining({ name: 'OfframpError', code: 'INVALID_ARGUMENT', message }));
};

describe('checkSample: uint8 raw samples (the tiny bundle)', () => {
  const RAW = 'a Uint8Array of 784 values (shape [28, 28], plain)';

  it('normalises a Uint8Array as the manifest says ((raw · 1/255 − 0) / 1) and keeps it as the raw sample', () => {
    const raw = Uint8Array.from({ length: 784 }, (_, i) => i % 256);
    const c = checkSample(raw, tiny);
    expect(c.x).toHaveLength(784);
    expect(c.x[0]).toBe(0);
    expect(c.x[255]).toBe(Math.fround(255 * 0.00392156862745098));
    expect(c.x[51]).toBe(Math.fround(51 * 0.00392156862745098));
    expect(c.raw()).toBe(raw);
  });

  it('takes a Uint8ClampedArray (canvas pixels) as the same bytes', () => {
    const clamped = Uint8ClampedArray.from({ length: 784 }, (_, i) => (i * 7) % 256);
    const c = checkSample(clamped, tiny);
    const raw = c.raw();
    expect(raw).toBeInstanceOf(Uint8Array);
    expect(raw.buffer).toBe(clamped.buffer);
    expect(c.x).toEqual(checkSample(Uint8Array.from(clamped), tiny).x);
  });

  it('refuses other values, saying what it takes', () => {
    invalid(null, tiny, `infer() needs a sample: ${RAW}, or { normalized: Float32Array } of 784 values`);
    invalid(undefined, tiny, `infer() needs a sample: ${RAW}, or { normalized: Float32Array } of 784 values`);
    invalid(
      new Float32Array(784),
      tiny,
      `tiny takes raw samples as ${RAW}; got a Float32Array (to pass an already-normalised input, use { normalized: Float32Array })`,
    );
    invalid(new Int8Array(784), tiny, `tiny takes raw samples as ${RAW}; got Int8Array`);
    invalid(new Array<number>(784).fill(0), tiny, `tiny takes raw samples as ${RAW}; got an Array (wrap it: new Uint8Array(array))`);
    invalid('pixels', tiny, `tiny takes raw samples as ${RAW}; got string`);
    invalid(7, tiny, `tiny takes raw samples as ${RAW}; got number`);
  });

  it('refuses a wrong length', () => {
    invalid(new Uint8Array(783), tiny, `the sample has 783 values; tiny takes ${RAW}`);
    invalid(new Uint8ClampedArray(785), tiny, `the sample has 785 values; tiny takes ${RAW}`);
    invalid(new Uint8Array(0), tiny, `the sample has 0 values; tiny takes ${RAW}`);
  });
});

describe('checkSample: { normalized } model input', () => {
  it('passes the model input through and rebuilds the raw bytes (rounded, clamped) for full offload', () => {
    const x = new Float32Array(784);
    x.set([0, 0.5, 1, -0.2, 3, 51 / 255]);
    const c = checkSample({ normalized: x }, tiny);
    expect(c.x).toBe(x);
    const raw = c.raw();
    expect(raw).toBeInstanceOf(Uint8Array);
    expect(Array.from(raw.subarray(0, 7))).toEqual([0, 128, 255, 0, 255, 51, 0]);
  });

  it('refuses anything but 784 finite float32 values', () => {
    invalid({ normalized: Array.from({ length: 784 }, () => 0) }, tiny, '{ normalized } must hold a Float32Array');
    invalid({ normalized: new Float64Array(784) }, tiny, '{ normalized } must hold a Float32Array');
    invalid({ normalized: new Float32Array(783) }, tiny, '{ normalized } has 783 values; tiny takes 784');
    const nan = new Float32Array(784);
    nan[17] = NaN;
    invalid({ normalized: nan }, tiny, '{ normalized } value 17 is not finite (NaN)');
    const inf = new Float32Array(784);
    inf[0] = -Infinity;
    invalid({ normalized: inf }, tiny, '{ normalized } value 0 is not finite (-Infinity)');
  });
});

describe('checkSample: float32 raw samples', () => {
  const RAW = 'a Float32Array of 784 values (shape [28, 28], plain)';

  it('normalises a Float32Array ((raw − 0.5) / 0.25) and keeps it as the raw sample', () => {
    const m = withInput(floatInput(), 'floaty');
    const raw = new Float32Array(784);
    raw.set([0.5, 1, 0, 0.75]);
    const c = checkSample(raw, m);
    expect(Array.from(c.x.subarray(0, 5))).toEqual([0, 2, -2, 1, -2]);
    expect(c.raw()).toBe(raw);
  });

  it('refuses bytes, non-finite values and wrong lengths', () => {
    const m = withInput(floatInput(), 'floaty');
    invalid(new Uint8Array(784), m, `floaty takes raw samples as ${RAW}; got Uint8Array`);
    invalid(new Float64Array(784), m, `floaty takes raw samples as ${RAW}; got Float64Array`);
    invalid(new Float32Array(10), m, `the sample has 10 values; floaty takes ${RAW}`);
    const nan = new Float32Array(784);
    nan[3] = NaN;
    invalid(nan, m, 'sample value 3 is not finite (NaN)');
    const inf = new Float32Array(784);
    inf[783] = Infinity;
    invalid(inf, m, 'sample value 783 is not finite (Infinity)');
  });

  it('rebuilds float raw samples from { normalized } without rounding', () => {
    const m = withInput(floatInput(), 'floaty');
    const x = new Float32Array(784);
    x.set([2, -2, 0.1]);
    const raw = checkSample({ normalized: x }, m).raw();
    expect(raw).toBeInstanceOf(Float32Array);
    expect(Array.from(raw.subarray(0, 4))).toEqual([1, 0, Math.fround(Math.fround(0.1) * 0.25 + 0.5), 0.5]);
  });
});

describe('checkSample: interleaved (HWC) camera frames for an NCHW model', () => {
  it('transposes to channel-major while normalising per channel, and back for full offload', () => {
    const m = withInput(hwcInput(), 'cam');
    const raw = Uint8Array.from([0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]);
    const c = checkSample(raw, m);
    expect(Array.from(c.x)).toEqual([0, 10, 20, 30, -9, 1, 11, 21, -9, -4, 1, 6]);
    expect(Array.from(checkSample({ normalized: c.x }, m).raw())).toEqual(Array.from(raw));
    invalid(new Uint8Array(11), m, 'the sample has 11 values; cam takes a Uint8Array of 12 values (shape [2, 2, 3], HWC)');
  });
});
