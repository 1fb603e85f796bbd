import { describe, expect, it } from 'vitest';
import { checkZstdFrame, decodeFeatures, loadZstdWasm, zstdContentSize, type RatePoint, type ZstdBackend } from '../../bottleneck/index.js';
import { loadZstd, loadZstdNative } from '../../bottleneck/zstd-native.js';
import { rleFrame } from './zstd-frames.fixture.js';

// One conformance suite for every backend this machine has: wasm always; native when the optional
// dependency zstd-napi built (it does wherever npm ci can run node-gyp, CI included).
const wasm = await loadZstdWasm();
const nativeBackend = await loadZstdNative();
const backends: ZstdBackend[] = nativeBackend ? [wasm, nativeBackend] : [wasm];

/** float32 features of 1024 values: 4096 bytes decoded. */
const F32: RatePoint = { codec: 'float32' };
const SHAPE = [1024];

describe.each(backends.map((b) => [b.name, b] as const))('%s', (_name, zstd) => {
  it('reads the declared content size from the header', () => {
    expect(zstdContentSize(zstd.compress(new Uint8Array(5000), 3))).toBe(5000);
    expect(zstdContentSize(rleFrame(123_456, 10))).toBe(123_456);
  });

  it('decompresses an honest hand-made RLE frame', () => {
    expect(zstd.decompress(rleFrame(1000, 1000), 1000)).toEqual(new Uint8Array(1000));
    expect(Array.from(decodeFeatures(rleFrame(4096, 4096), true, SHAPE, F32, { zstd }))).toEqual(new Array<number>(1024).fill(0));
  });

  it('refuses a bomb (a 17-byte frame claiming 256 MiB) with TOO_LARGE and bounded memory', () => {
    const before = process.memoryUsage();
    const bomb = rleFrame(256 * 1024 * 1024, 1024 * 1024);
    expect(bomb.length).toBe(17);
    expect(() => decodeFeatures(bomb, true, SHAPE, F32, { zstd })).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', message: 'zstd frame claims 268435456 bytes; the declared tensor holds 4096' }),
    );
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a frame that lies: claims the expected size but its block produces more', () => {
    expect(() => decodeFeatures(rleFrame(4096, 100_000), true, SHAPE, F32, { zstd })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('refuses a frame that claims less than the tensor', () => {
    expect(() => decodeFeatures(rleFrame(100, 100), true, SHAPE, F32, { zstd })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'zstd frame holds 100 bytes; the declared tensor holds 4096' }),
    );
  });

  it('refuses frames without a content size, with a dictionary, bad magic or truncated', () => {
    const noSize = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00]);
    expect(() => decodeFeatures(noSize, true, SHAPE, F32, { zstd })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'zstd frame does not declare its content size' }),
    );
    const dict = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x21, 0x01, 0x10, 0x00, 0x00]);
    expect(() => decodeFeatures(dict, true, SHAPE, F32, { zstd })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'zstd frames with a dictionary id are not accepted' }),
    );
    expect(() => decodeFeatures(Uint8Array.from([1, 2, 3, 4, 5, 6, 7]), true, SHAPE, F32, { zstd })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'payload is not a zstd frame (bad magic number)' }),
    );
    expect(() => decodeFeatures(Uint8Array.from([0x28, 0xb5, 0x2f]), true, SHAPE, F32, { zstd })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: 'zstd frame of 3 bytes is truncated' }),
    );
  });

  it('refuses a corrupt body after a valid header', () => {
    const good = zstd.compress(
      Uint8Array.from({ length: 4096 }, (_, i) => i % 7),
      3,
    );
    const bad = Uint8Array.from(good);
    for (let i = 8; i < bad.length; i++) bad[i] = 0xff;
    expect(() => decodeFeatures(bad, true, SHAPE, F32, { zstd })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});

describe('checkZstdFrame', () => {
  it('TOO_LARGE above the expected size, BAD_REQUEST below, nothing when equal', () => {
    expect(() => checkZstdFrame(rleFrame(4097, 1), 4096)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(() => checkZstdFrame(rleFrame(4095, 1), 4096)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => checkZstdFrame(rleFrame(4096, 1), 4096)).not.toThrow();
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
