import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputSpec, loadSamples, parseNpy, toModelInput } from '../../split/data.js';
import { failure, FMNIST } from './helpers.js';

/** A .npy file's bytes (format 1.0). */
function npy(descr: string, shape: number[], data: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-data-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('.npy', () => {
  it('reads uint8 and float32 arrays', () => {
    expect(parseNpy(npy('|u1', [2, 3], Uint8Array.of(1, 2, 3, 4, 5, 6)))).toEqual({ dtype: 'uint8', shape: [2, 3], data: Uint8Array.of(1, 2, 3, 4, 5, 6) });
    const f = parseNpy(npy('<f4', [2], new Uint8Array(Float32Array.of(0.5, -2).buffer)));
    expect(f).toEqual({ dtype: 'float32', shape: [2], data: Float32Array.of(0.5, -2) });
  });

  it('refuses what it cannot read, saying what to save instead', async () => {
    expect(await failure(() => parseNpy(npy('<f8', [1], new Uint8Array(8)), 'a.npy'))).toBe(
      'INVALID_ARGUMENT: a.npy: dtype <f8 is not supported (save uint8 or float32)',
    );
    expect(await failure(() => parseNpy(new Uint8Array(12), 'b.npy'))).toBe('INVALID_ARGUMENT: b.npy: not a .npy file');
    expect(await failure(() => parseNpy(npy('|u1', [4], Uint8Array.of(1, 2)), 'c.npy'))).toBe('INVALID_ARGUMENT: c.npy: 2 bytes of data, shape (4) needs 4');
  });
});

describe('the input description', () => {
  it('declares raw HWC frames for an NCHW model, and checks mean and std', async () => {
    const spec = inputSpec([3, 2, 4], { layout: 'HWC', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(spec).toEqual({
      shape: [3, 2, 4],
      layout: 'NCHW',
      normalization: { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      raw: { dtype: 'uint8', shape: [2, 4, 3], layout: 'HWC' },
    });
    expect(inputSpec([16], { rawDtype: 'float32' })).toEqual({
      shape: [16],
      layout: 'NC',
      normalization: { scale: 1, mean: [0], std: [1] },
      raw: { dtype: 'float32', shape: [16], layout: 'plain' },
    });
    expect(await failure(() => inputSpec([3, 2, 4], { mean: [0.5, 0.5] }))).toBe(
      'INVALID_ARGUMENT: --mean has 2 values; the input has 3 channels (give 1 or 3)',
    );
    expect(await failure(() => inputSpec([16], { layout: 'HWC' }))).toBe(
      'INVALID_ARGUMENT: --layout HWC needs an image input (NCHW or NHWC; set --model-layout)',
    );
  });

  it('normalises an HWC frame into the NCHW model input, as the SDK does', () => {
    const spec = inputSpec([3, 1, 2], { layout: 'HWC', scale: 1, mean: [0, 10, 20], std: [1, 2, 4] });
    // Pixels (r, g, b) = (1, 12, 24) and (3, 14, 28).
    expect(Array.from(toModelInput(Uint8Array.of(1, 12, 24, 3, 14, 28), spec))).toEqual([1, 3, 1, 2, 1, 2]);
  });
});

describe('samples', () => {
  const spec = inputSpec([1, 2, 2]);

  it('reads a .npy batch, a gzipped one, and a folder of .bin and .npy files in name order', async () => {
    const batch = Uint8Array.from({ length: 12 }, (_, i) => i);
    await writeFile(join(tmp, 'b.npy'), npy('|u1', [3, 2, 2], batch));
    await writeFile(join(tmp, 'b.npy.gz'), gzipSync(npy('|u1', [3, 2, 2], batch)));
    for (const f of ['b.npy', 'b.npy.gz']) {
      const s = await loadSamples(spec, 8, join(tmp, f));
      expect(s.raw.map((r) => Array.from(r))).toEqual([
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 10, 11],
      ]);
      expect(s).toMatchObject({ source: `${f} (3 samples)`, real: true });
    }
    const dir = join(tmp, 'folder');
    await mkdir(dir);
    await writeFile(join(dir, '2.bin'), Uint8Array.of(9, 9, 9, 9));
    await writeFile(join(dir, '1.npy'), npy('|u1', [2, 2], Uint8Array.of(1, 2, 3, 4)));
    await writeFile(join(dir, 'notes.txt'), 'ignored');
    expect((await loadSamples(spec, 8, dir)).raw.map((r) => Array.from(r))).toEqual([
      [1, 2, 3, 4],
      [9, 9, 9, 9],
    ]);
  });

  it('reads IDX files, and only as many samples as asked', async () => {
    const s = await loadSamples(inputSpec([1, 28, 28]), 5, FMNIST);
    expect(s.raw.length).toBe(5);
    expect(s.source).toBe('t10k-images-idx3-ubyte.gz (5 samples)');
  });

  it('says so when the data does not fit the raw sample', async () => {
    await writeFile(join(tmp, 'odd.npy'), npy('|u1', [5], new Uint8Array(5)));
    expect(await failure(() => loadSamples(spec, 8, join(tmp, 'odd.npy')))).toBe(
      'INVALID_ARGUMENT: --data: odd.npy holds 5 values, not a whole number of samples of 4; the raw samples are uint8 [1, 2, 2] (CHW), 4 values each',
    );
    await writeFile(join(tmp, 'f.npy'), npy('<f4', [4], new Uint8Array(16)));
    expect(await failure(() => loadSamples(spec, 8, join(tmp, 'f.npy')))).toBe(
      'INVALID_ARGUMENT: --data: f.npy holds float32 values; the raw samples are uint8 (use --raw-dtype float32, or save uint8); the raw samples are uint8 [1, 2, 2] (CHW), 4 values each',
    );
    expect(await failure(() => loadSamples(spec, 8, join(tmp, 'missing.npy')))).toMatch(/^INVALID_ARGUMENT: --data .*missing\.npy: no such file or folder$/);
  });

  it('falls back to seeded noise, and says so', async () => {
    const a = await loadSamples(spec, 3);
    const b = await loadSamples(spec, 3);
    expect(a.raw).toEqual(b.raw);
    expect(a).toMatchObject({ source: 'seeded random uint8 noise (3 samples)', real: false });
  });
});
