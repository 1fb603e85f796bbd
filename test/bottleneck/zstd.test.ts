import { describe, expect, it } from 'vitest';
import { decodeFeatures, loadZstd, loadZstdNative, loadZstdWasm, zstdContentSize, type ZstdBackend } from '../../bottleneck/index.js';
import type { TensorEncoding } from '../../protocol/index.js';
import { rleFrame } from '../../bench/reliability/hostile.js';

// One conformance suite for every backend this machine has: wasm always; native when the optional
// dependency zstd-napi built (it does wherever npm ci can run node-gyp, CI included).
const wasm = await loadZstdWasm();
const nativeBackend = loadZstdNative();
const backends: ZstdBackend[] = nativeBackend ? [wasm, nativeBackend] : [wasm];

const meta = (elements: number): TensorEncoding => ({ shape: [elements], bits: 8, scale: [1], zeroPoint: [0], axis: 0, codec: 'zstd', uncompressedBytes: elements });

describe.each(backends.map((b) => [b.name, b] as const))('%s', (_name, zstd) => {
  it('reads the declared content size from the header', () => {
    expect(zstdContentSize(zstd.compress(new Uint8Array(5000), 3))).toBe(5000);
    expect(zstdContentSize(rleFrame(123_456, 10))).toBe(123_456);
  });

  it('decompresses an honest hand-made RLE frame', () => {
    expect(zstd.decompress(rleFrame(1000, 1000), 1000)).toEqual(new Uint8Array(1000));
  });

  it('refuses a bomb (a 17-byte frame claiming 256 MiB) with TOO_LARGE and bounded memory', () => {
    const before = process.memoryUsage();
    const bomb = rleFrame(256 * 1024 * 1024, 1024 * 1024);
    expect(bomb.length).toBe(17);
    expect(() => decodeFeatures(bomb, meta(4096), { zstd })).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', message: 'zstd frame claims 268435456 bytes; the declared tensor holds 4096' }),
    );
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a frame that lies: claims the expected size but its block produces more', () => {
    expect(() => decodeFeatures(rleFrame(4096, 100_000), meta(4096), { zstd })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('refuses a frame that claims less than the tensor', () => {
    expect(() => decodeFeatures(rleFrame(100, 100), meta(4096), { zstd })).toThrow(/claims|holds 100 bytes/);
  });

  it('refuses frames without a content size, with a dictionary, bad magic or truncated', () => {
    const noSize = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00]);
    expect(() => decodeFeatures(noSize, meta(4096), { zstd })).toThrow(expect.objectContaining({ message: 'zstd frame does not declare its content size' }));
    const dict = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x01, 0x10, 0x00, 0x00]);
    expect(() => decodeFeatures(dict, meta(4096), { zstd })).toThrow(/dictionary id/);
    expect(() => decodeFeatures(Uint8Array.from([1, 2, 3, 4, 5, 6, 7]), meta(4096), { zstd })).toThrow(/bad magic number/);
    expect(() => decodeFeatures(Uint8Array.from([0x28, 0xb5, 0x2f]), meta(4096), { zstd })).toThrow(/truncated/);
  });

  it('refuses a corrupt body after a valid header', () => {
    const good = zstd.compress(Uint8Array.from({ length: 4096 }, (_, i) => i % 7), 3);
    const bad = Uint8Array.from(good);
    for (let i = 8; i < bad.length; i++) bad[i] = 0xff;
    expect(() => decodeFeatures(bad, meta(4096), { zstd })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});

describe('zstd backends', () => {
  it("'auto' prefers native when it loaded, and each backend decodes the others' frames", async () => {
    expect((await loadZstd()).name).toBe(nativeBackend ? 'zstd-napi (native)' : 'zstd-codec (wasm)');
    const data = Uint8Array.from({ length: 9408 }, (_, i) => ((i * 7) % 13 < 6 ? 0 : i % 16));
    for (const a of backends) for (const b of backends) expect(b.decompress(a.compress(data, 3), data.length)).toEqual(data);
  });

  it("'native' is refused with CODEC_UNAVAILABLE exactly when zstd-napi did not load", async () => {
    if (nativeBackend) expect((await loadZstd('native')).name).toBe('zstd-napi (native)');
    else await expect(loadZstd('native')).rejects.toMatchObject({ code: 'CODEC_UNAVAILABLE' });
  });
});
