import jpeg from 'jpeg-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeInput, encodeInput, inputEncodingProblem, loadZstdWasm, maxInputBytes, type InputEncoding, type ZstdBackend } from '../../bottleneck/index.js';
import { jpegJs } from '../../bottleneck/jpeg.js';
import { imageAt, loadFashionMnistTest } from '../../head/datasets/fashion-mnist.js';
import { rng } from './random.fixture.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const RAW: InputEncoding = { codec: 'raw' };

let zstd: ZstdBackend;
let image: Uint8Array;
beforeAll(async () => {
  zstd = await loadZstdWasm();
  image = Uint8Array.from(imageAt(await loadFashionMnistTest(), 0));
});

describe('raw', () => {
  it('sends the samples as they are and reads them back', () => {
    const enc = encodeInput(image, [28, 28], RAW);
    expect(enc.zstd).toBe(false);
    expect(hex(enc.payload)).toBe(hex(image));
    expect(decodeInput(enc.payload, false, [28, 28], RAW)).toEqual(image);
    expect(maxInputBytes([28, 28], RAW)).toBe(784);
  });

  it('wraps in zstd only when smaller, and reads the frame back exactly', () => {
    const enc = encodeInput(image, [28, 28], RAW, { zstd });
    expect(enc.zstd).toBe(true); // a Fashion-MNIST image is mostly black
    expect(enc.payload.length).toBeLessThan(784);
    expect(decodeInput(enc.payload, true, [28, 28], RAW, { zstd })).toEqual(image);
    const r = rng(21);
    const noise = Uint8Array.from({ length: 784 }, () => Math.floor(r() * 256));
    const plain = encodeInput(noise, [28, 28], RAW, { zstd });
    expect(plain.zstd).toBe(false);
    expect(plain.payload.length).toBe(784);
  });

  it('refuses a payload of the wrong size, and a sample of the wrong size', () => {
    expect(() => decodeInput(new Uint8Array(783), false, [28, 28], RAW)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'payload has 783 bytes; expected 784' }),
    );
    expect(() => encodeInput(new Uint8Array(3), [2, 2], RAW)).toThrow(new RangeError('sample has 3 values; shape [2, 2] needs 4'));
  });
});

describe('downsample', () => {
  it('4×4, factor 2, 2 bits: block means quantized, LSB-first, rebuilt block by block', () => {
    const sample = Uint8Array.from([0, 10, 200, 255, 20, 30, 255, 255, 100, 100, 50, 60, 100, 100, 70, 80]);
    const e: InputEncoding = { codec: 'downsample', factor: 2, bits: 2 };
    // means 15, 241.25, 100, 65 → floor(mean · 3 / 255 + 0.5) = 0, 3, 1, 1 → 0 | 3<<2 | 1<<4 | 1<<6 = 0x5c
    const enc = encodeInput(sample, [4, 4], e);
    expect(hex(enc.payload)).toBe('5c');
    expect(enc.zstd).toBe(false);
    expect(maxInputBytes([4, 4], e)).toBe(1);
    // floor(q · 255 / 3 + 0.5): 0, 255, 85, 85
    expect(Array.from(decodeInput(enc.payload, false, [4, 4], e))).toEqual([0, 0, 255, 255, 0, 0, 255, 255, 85, 85, 85, 85, 85, 85, 85, 85]);
  });

  it('smaller blocks at the edges average what they hold', () => {
    const e: InputEncoding = { codec: 'downsample', factor: 2, bits: 8 };
    // 3×3: blocks {10, 20, 40, 50}, {30, 60}, {70, 80}, {90}
    const enc = encodeInput(Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90]), [3, 3], e);
    expect(hex(enc.payload)).toBe('1e2d4b5a'); // 30, 45, 75, 90
    expect(Array.from(decodeInput(enc.payload, false, [3, 3], e))).toEqual([30, 30, 45, 30, 30, 45, 75, 75, 90]);
  });

  it('each plane of a [C, H, W] sample on its own', () => {
    const e: InputEncoding = { codec: 'downsample', factor: 2, bits: 1 };
    // plane 0 mean 200 → 1; plane 1 mean 100 → floor(0.39 + 0.5) = 0 → bits 1, 0
    const enc = encodeInput(Uint8Array.from([200, 200, 200, 200, 100, 100, 100, 100]), [2, 2, 2], e);
    expect(hex(enc.payload)).toBe('01');
    expect(Array.from(decodeInput(enc.payload, false, [2, 2, 2], e))).toEqual([255, 255, 255, 255, 0, 0, 0, 0]);
  });

  it("a Fashion-MNIST image at factor 2, 4 bits: 98 bytes, every pixel within its block's spread plus a step", () => {
    const e: InputEncoding = { codec: 'downsample', factor: 2, bits: 4 };
    const enc = encodeInput(image, [28, 28], e);
    expect(enc.payload.length).toBe(98);
    expect(maxInputBytes([28, 28], e)).toBe(98);
    const out = decodeInput(enc.payload, false, [28, 28], e);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const by = y & ~1;
        const bx = x & ~1;
        const block = [image[by * 28 + bx]!, image[by * 28 + bx + 1]!, image[(by + 1) * 28 + bx]!, image[(by + 1) * 28 + bx + 1]!];
        expect(out[y * 28 + x]).toBeGreaterThanOrEqual(Math.min(...block) - 9);
        expect(out[y * 28 + x]).toBeLessThanOrEqual(Math.max(...block) + 9);
      }
    }
    const z = encodeInput(new Uint8Array(28 * 28 * 4), [4, 28, 28], { codec: 'downsample', factor: 2, bits: 8 }, { zstd });
    expect(z.zstd).toBe(true);
    expect(decodeInput(z.payload, true, [4, 28, 28], { codec: 'downsample', factor: 2, bits: 8 }, { zstd })).toEqual(new Uint8Array(28 * 28 * 4));
  });

  it('refuses a payload of the wrong size and bad parameters', () => {
    const e: InputEncoding = { codec: 'downsample', factor: 2, bits: 2 };
    expect(() => decodeInput(new Uint8Array(2), false, [4, 4], e)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'payload has 2 bytes; expected 1' }),
    );
    expect(inputEncodingProblem([28, 28], { codec: 'downsample', factor: 1, bits: 2 })).toBe('downsample factor must be 2..64, got 1');
    expect(inputEncodingProblem([28, 28], { codec: 'downsample', factor: 2, bits: 9 })).toBe('downsample bits must be 1..8, got 9');
    expect(inputEncodingProblem([784], { codec: 'downsample', factor: 2, bits: 2 })).toBe('downsampling needs a raw shape with two spatial dims');
    expect(inputEncodingProblem([28, 28], e)).toBeUndefined();
  });
});

describe('jpeg (jpegJs)', () => {
  const Q75: InputEncoding = { codec: 'jpeg', quality: 75 };

  it('sends only the scan of a baseline JPEG, and decodes a Fashion-MNIST image within a bounded error', () => {
    const enc = encodeInput(image, [28, 28], Q75, { jpeg: jpegJs });
    expect(enc.zstd).toBe(false);
    const rgba = new Uint8Array(784 * 4);
    for (let i = 0; i < 784; i++) rgba.set([image[i]!, image[i]!, image[i]!, 255], i * 4);
    const full = new Uint8Array(jpeg.encode({ data: rgba, width: 28, height: 28 }, 75).data);
    // The payload is the full file's scan: everything after the header, before the EOI marker.
    expect(hex(full.subarray(full.length - 2))).toBe('ffd9');
    expect(hex(full.subarray(full.length - 2 - enc.payload.length, full.length - 2))).toBe(hex(enc.payload));
    expect(enc.payload.length * 3).toBeLessThan(full.length); // the header (~600 B) stays home
    const out = decodeInput(enc.payload, false, [28, 28], Q75, { jpeg: jpegJs });
    let sum = 0;
    let worst = 0;
    for (let i = 0; i < 784; i++) {
      const d = Math.abs(out[i]! - image[i]!);
      sum += d;
      worst = Math.max(worst, d);
    }
    expect(sum / 784).toBeLessThan(4);
    expect(worst).toBeLessThan(48);
  });

  it('three planes: a [3, H, W] sample round trips within a bounded error', () => {
    const rgb = new Uint8Array(3 * 784);
    rgb.set(image, 0);
    rgb.set(
      image.map((v) => v >> 1),
      784,
    );
    rgb.set(
      image.map((v) => 255 - v),
      1568,
    );
    const e: InputEncoding = { codec: 'jpeg', quality: 90 };
    const out = decodeInput(encodeInput(rgb, [3, 28, 28], e, { jpeg: jpegJs }).payload, false, [3, 28, 28], e, { jpeg: jpegJs });
    let sum = 0;
    for (let i = 0; i < rgb.length; i++) sum += Math.abs(out[i]! - rgb[i]!);
    expect(sum / rgb.length).toBeLessThan(6);
  });

  it('refuses a corrupt or empty scan with BAD_REQUEST', () => {
    const scan = encodeInput(image, [28, 28], Q75, { jpeg: jpegJs }).payload;
    const corrupt = new Uint8Array(scan.length).fill(0xff);
    expect(() => decodeInput(corrupt, false, [28, 28], Q75, { jpeg: jpegJs })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringMatching(/^jpeg scan does not decode: /) }),
    );
    const marker = Uint8Array.from(scan);
    marker.set([0xff, 0xd8], 3); // a start-of-image marker inside the scan
    expect(() => decodeInput(marker, false, [28, 28], Q75, { jpeg: jpegJs })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringMatching(/^jpeg scan does not decode: /) }),
    );
    expect(() => decodeInput(new Uint8Array(0), false, [28, 28], Q75, { jpeg: jpegJs })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('refuses zstd-wrapped and oversized scans, and works only with a backend', () => {
    expect(() => decodeInput(new Uint8Array(10), true, [28, 28], Q75, { jpeg: jpegJs, zstd })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'jpeg payloads are never zstd-wrapped' }),
    );
    expect(maxInputBytes([28, 28], Q75)).toBe(8 * 784 + 1024);
    expect(() => decodeInput(new Uint8Array(8 * 784 + 1025), false, [28, 28], Q75, { jpeg: jpegJs })).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(() => encodeInput(image, [28, 28], Q75)).toThrow(expect.objectContaining({ code: 'CODEC_UNAVAILABLE' }));
    expect(() => decodeInput(new Uint8Array(10), false, [28, 28], Q75)).toThrow(expect.objectContaining({ code: 'CODEC_UNAVAILABLE' }));
  });

  it('checks quality and planes', () => {
    expect(inputEncodingProblem([28, 28], { codec: 'jpeg', quality: 0 })).toBe('jpeg quality must be 1..100, got 0');
    expect(inputEncodingProblem([28, 28], { codec: 'jpeg', quality: 101 })).toBe('jpeg quality must be 1..100, got 101');
    expect(inputEncodingProblem([2, 28, 28], Q75)).toBe('jpeg needs a raw shape [H, W], [1, H, W] or [3, H, W]');
    expect(inputEncodingProblem([1, 28, 28], Q75)).toBeUndefined();
    expect(inputEncodingProblem([3, 28, 28], Q75)).toBeUndefined();
  });
});
