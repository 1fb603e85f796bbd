import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageAt, loadFashionMnistTest } from '../../head/datasets/fashion-mnist.js';
import { parseIdx } from '../../head/datasets/idx.js';

describe('IDX reader', () => {
  it('parses a hand-made 2×3 file', () => {
    const bytes = Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
    expect(parseIdx(bytes)).toEqual({ dims: [2, 3], data: Uint8Array.from([1, 2, 3, 4, 5, 6]) });
  });
  it('refuses wrong types, bad magic and wrong lengths', () => {
    expect(() => parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow('IDX data: value type 0xd is not unsigned byte');
    expect(() => parseIdx(Uint8Array.from([1, 0, 8, 1]))).toThrow('IDX data: not an IDX file');
    expect(() => parseIdx(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 7]))).toThrow('IDX data: 1 values, dims [3] need 3');
  });
});

describe('committed Fashion-MNIST test split', () => {
  it('holds 10,000 28×28 images, 1,000 per class', async () => {
    const set = await loadFashionMnistTest();
    expect([set.count, set.height, set.width]).toEqual([10000, 28, 28]);
    const perClass = new Array<number>(10).fill(0);
    for (const l of set.labels) perClass[l]!++;
    expect(perClass).toEqual(new Array<number>(10).fill(1000));
  });

  it("agrees with the Python exporter's reading (the tiny bundle's golden images)", async () => {
    const set = await loadFashionMnistTest();
    const golden = JSON.parse(await readFile(join(import.meta.dirname, '..', 'fixtures', 'tiny', 'golden.json'), 'utf8')) as { images: number[][]; labels: number[] };
    golden.images.forEach((img, i) => {
      expect(Array.from(imageAt(set, i))).toEqual(img);
      expect(set.labels[i]).toBe(golden.labels[i]);
    });
  });
});
