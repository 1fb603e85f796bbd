/**
 * The dataset readers (head/datasets/): IDX parsing in any runtime (idx-parse.ts), its Node.js
 * wrapper (idx.ts), and the committed Fashion-MNIST test split (fashion-mnist.ts).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fashionMnistDir, imageAt, loadFashionMnistTest, type ImageSet } from '../../head/datasets/fashion-mnist.js';
import { decodeIdx, isGzip, parseIdxAsync } from '../../head/datasets/idx-parse.js';
import { parseIdx, readIdx } from '../../head/datasets/idx.js';
import { OfframpError } from '../../protocol/errors.js';
import { tinyGolden } from '../tail/client.js';

/** A 2×3 IDX file of unsigned bytes: magic 00 00 08 02, dims 2 and 3 (big-endian), values 1..6. */
const IDX_2X3 = Uint8Array.from(Buffer.from('00000802' + '00000002' + '00000003' + '010203040506', 'hex'));
/** An IDX file of `dims` (unsigned bytes) holding `values`. */
function idx(dims: number[], values: number[]): Uint8Array {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(8, 2);
  head.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Uint8Array.from([...head, ...values]);
}

/** The error every reader throws for bad input: INVALID_ARGUMENT with this message. */
const invalid = (message: string): OfframpError => new OfframpError('INVALID_ARGUMENT', message);

let tmp: string;
let set: ImageSet;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-idx-'));
  set = await loadFashionMnistTest();
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('decodeIdx (uncompressed IDX bytes)', () => {
  it('reads a hand-made 2×3 file: dims big-endian, values as a view after the header', () => {
    const r = decodeIdx(IDX_2X3);
    expect(r.dims).toEqual([2, 3]);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.data.buffer).toBe(IDX_2X3.buffer);
    expect(r.data.byteOffset).toBe(12);
  });

  it('reads dims above 255 and a file that starts inside a larger buffer', () => {
    const values = Array.from({ length: 300 }, (_, i) => i & 0xff);
    const r = decodeIdx(idx([300], values));
    expect(r.dims).toEqual([300]);
    expect(Array.from(r.data)).toEqual(values);
    const padded = new Uint8Array(5 + IDX_2X3.length);
    padded.set(IDX_2X3, 5);
    expect(Array.from(decodeIdx(padded.subarray(5)).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses a bad magic, another value type, a short header and a wrong length, naming the source (INVALID_ARGUMENT)', () => {
    expect(() => decodeIdx(Uint8Array.from([1, 0, 8, 1]))).toThrow(invalid('IDX data: not an IDX file'));
    expect(() => decodeIdx(Uint8Array.from([0, 0, 8]))).toThrow(invalid('IDX data: not an IDX file'));
    expect(() => decodeIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(invalid('IDX data: value type 0xd is not unsigned byte'));
    expect(() => decodeIdx(Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 1]))).toThrow(invalid('IDX data: truncated header'));
    expect(() => decodeIdx(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 3, 7]))).toThrow(invalid('IDX data: 1 values, dims [3] need 3'));
    expect(() => decodeIdx(idx([2, 2], [1, 2, 3, 4, 5]), 'labels.idx')).toThrow(invalid('labels.idx: 5 values, dims [2, 2] need 4'));
  });
});

describe('isGzip, parseIdx (node:zlib), parseIdxAsync (DecompressionStream)', () => {
  const gz = new Uint8Array(gzipSync(IDX_2X3));

  it('tells gzip from IDX by the magic 1f 8b', () => {
    expect(isGzip(gz)).toBe(true);
    expect(isGzip(IDX_2X3)).toBe(false);
    expect(isGzip(Uint8Array.from([0x1f]))).toBe(false);
  });

  it('both read plain and gzipped bytes alike', async () => {
    for (const bytes of [IDX_2X3, gz]) {
      for (const r of [parseIdx(bytes), await parseIdxAsync(bytes)]) {
        expect(r.dims).toEqual([2, 3]);
        expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 6]);
      }
    }
  });

  it('check what was inflated, naming the source', async () => {
    const bad = new Uint8Array(gzipSync(Uint8Array.from([0, 0, 9, 1, 0, 0, 0, 1, 0])));
    expect(() => parseIdx(bad, 'x.gz')).toThrow(invalid('x.gz: value type 0x9 is not unsigned byte'));
    await expect(parseIdxAsync(bad, 'x.gz')).rejects.toThrow(invalid('x.gz: value type 0x9 is not unsigned byte'));
  });

  it('read the committed test images identically (10,000 × 28 × 28)', async () => {
    const file = join(fashionMnistDir(), 't10k-images-idx3-ubyte.gz');
    const bytes = new Uint8Array(await readFile(file));
    const sync = parseIdx(bytes);
    const streamed = await parseIdxAsync(bytes);
    expect(sync.dims).toEqual([10000, 28, 28]);
    expect(streamed.dims).toEqual([10000, 28, 28]);
    expect(Buffer.compare(Buffer.from(sync.data), Buffer.from(streamed.data))).toBe(0);
    expect(Buffer.compare(Buffer.from(sync.data), Buffer.from(set.images))).toBe(0);
  });
});

describe('readIdx', () => {
  it('names the file in its errors', async () => {
    const file = join(tmp, 'short.idx');
    await writeFile(file, Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 2, 1]));
    await expect(readIdx(file)).rejects.toThrow(invalid(`${file}: 1 values, dims [2] need 2`));
  });
});

describe('loadFashionMnistTest', () => {
  it('holds 10,000 28×28 images, 1,000 per class, from data/fashion-mnist', () => {
    expect(fashionMnistDir().endsWith(join('data', 'fashion-mnist'))).toBe(true);
    expect([set.count, set.height, set.width]).toEqual([10000, 28, 28]);
    expect(set.images.length).toBe(10000 * 784);
    const perClass = new Array<number>(10).fill(0);
    for (const l of set.labels) perClass[l]!++;
    expect(perClass).toEqual(new Array<number>(10).fill(1000));
  });

  it("agrees with the Python exporter's reading (the tiny bundle's golden images and labels)", async () => {
    const golden = await tinyGolden();
    expect(golden.images.length).toBeGreaterThan(0);
    golden.images.forEach((img, i) => {
      expect(Array.from(imageAt(set, i))).toEqual(img);
      expect(set.labels[i]).toBe(golden.labels[i]);
    });
  });

  it('imageAt is a 784-byte view of the image, not a copy', () => {
    const img = imageAt(set, 9999);
    expect(img.length).toBe(784);
    expect(img.buffer).toBe(set.images.buffer);
    expect(img.byteOffset).toBe(set.images.byteOffset + 9999 * 784);
  });

  it('imageAt refuses an index outside the set', () => {
    for (const i of [-1, 10000, 1.5, Number.NaN]) expect(() => imageAt(set, i)).toThrow(invalid(`image ${i} is outside the set's 0 .. 9999`));
  });

  it('reads another folder of t10k-* files, gzipped or not as their names say', async () => {
    const dir = join(tmp, 'two');
    await mkdir(dir);
    await writeFile(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])));
    await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), idx([2], [7, 3])); // plain bytes under a .gz name: read by the magic
    const two = await loadFashionMnistTest(dir);
    expect([two.count, two.height, two.width]).toEqual([2, 2, 3]);
    expect(Array.from(imageAt(two, 1))).toEqual([6, 7, 8, 9, 10, 11]);
    expect(Array.from(two.labels)).toEqual([7, 3]);
  });

  it('refuses images and labels that do not match', async () => {
    const dir = join(tmp, 'mismatch');
    await mkdir(dir);
    await writeFile(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([2, 1, 1], [0, 1])));
    await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([3], [0, 1, 2])));
    await expect(loadFashionMnistTest(dir)).rejects.toThrow(invalid('images [2, 1, 1] and labels [3] do not match'));
  });
});
