import { beforeAll, describe, expect, it } from 'vitest';
import { decodeOutput, encodeOutput, fromHalfBits, loadZstdWasm, topK, type OutputInfo, type ZstdBackend } from '../../bottleneck/index.js';
import { decodeFrame, encodeFrame, pb, type OutputTensor, type OutputTensorInit } from '../../protocol/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const FP32 = pb.OutputEncoding.OUTPUT_FP32;
const FP16 = pb.OutputEncoding.OUTPUT_FP16;
const INT8 = pb.OutputEncoding.OUTPUT_INT8;

const info = (dtype: string, shape: number[], name = 'y'): OutputInfo => ({ name, kind: 'tensor', dtype, shape });

/** As the device reads it: every field present. */
const received = (t: OutputTensorInit): OutputTensor => ({
  name: t.name ?? '',
  dtype: t.dtype ?? 0,
  shape: t.shape ?? [],
  encoding: t.encoding ?? 0,
  scale: t.scale ?? 0,
  zeroPoint: t.zeroPoint ?? 0,
  zstd: t.zstd ?? false,
  data: t.data ?? new Uint8Array(0),
});

let zstd: ZstdBackend;
beforeAll(async () => {
  zstd = await loadZstdWasm();
});

describe('float32 outputs', () => {
  it('OUTPUT_FP32: binary32 little-endian, bit exact', () => {
    const x = Float32Array.from([1, -2, 0.1, -0]);
    const t = encodeOutput(info('float32', [2, 2]), x, { encoding: FP32, zstd: undefined });
    expect(t).toMatchObject({ name: 'y', dtype: pb.DataType.FP32, shape: [2, 2], encoding: FP32, scale: 0, zeroPoint: 0, zstd: false });
    expect(hex(t.data!)).toBe('0000803f000000c0cdcccc3d00000080');
    const d = decodeOutput(received(t), undefined);
    expect(d.dims).toEqual([2, 2]);
    expect(hex(new Uint8Array((d.data as Float32Array).buffer))).toBe(hex(new Uint8Array(x.buffer)));
  });

  it('OUTPUT_FP16: binary16 little-endian, rounded to nearest even', () => {
    const t = encodeOutput(info('float32', [4]), Float32Array.from([1, -2, 0.1, 65504]), { encoding: FP16, zstd: undefined });
    expect(t.encoding).toBe(FP16);
    expect(hex(t.data!)).toBe('003c00c0662eff7b');
    expect(Array.from(decodeOutput(received(t), undefined).data as Float32Array)).toEqual([0x3c00, 0xc000, 0x2e66, 0x7bff].map(fromHalfBits));
  });

  it('OUTPUT_INT8: scale float32((max − min) / 255), zero point float32(−min / scale), q rounded half up (PROTOCOL.md §5.2)', () => {
    const t = encodeOutput(info('float32', [4]), Float32Array.from([-1, 0, 0.5, 3]), { encoding: INT8, zstd: undefined });
    const scale = Math.fround(4 / 255);
    const zeroPoint = Math.fround(1 / scale); // 63.749996
    expect(t).toMatchObject({ encoding: INT8, scale, zeroPoint });
    // -1 → floor(−63.75 + 63.75 + 0.5) = 0; 0 → 64; 0.5 → 96; 3 → 255
    expect(hex(t.data!)).toBe('004060ff');
    expect(Array.from(decodeOutput(received(t), undefined).data as Float32Array)).toEqual([0, 64, 96, 255].map((q) => Math.fround((q - zeroPoint) * scale)));
  });

  it('OUTPUT_INT8 of a constant tensor: scale 1, and every value exact', () => {
    const t = encodeOutput(info('float32', [3]), Float32Array.from([-7, -7, -7]), { encoding: INT8, zstd: undefined });
    expect(t).toMatchObject({ scale: 1, zeroPoint: 7 });
    expect(hex(t.data!)).toBe('000000');
    expect(Array.from(decodeOutput(received(t), undefined).data as Float32Array)).toEqual([-7, -7, -7]);
  });

  it('refuses NaN and infinite outputs with INTERNAL (never sent)', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const encoding of [FP32, FP16, INT8]) {
        expect(() => encodeOutput(info('float32', [2]), Float32Array.from([0, bad]), { encoding, zstd: undefined })).toThrow(
          expect.objectContaining({ code: 'INTERNAL', message: 'output y holds a non-finite value at 1' }),
        );
      }
    }
  });
});

describe('integer outputs: their little-endian values, whatever the float encoding', () => {
  it('int64', () => {
    const x = BigInt64Array.from([1n, -2n, 2n ** 40n]);
    const t = encodeOutput(info('int64', [3]), x, { encoding: INT8, zstd: undefined });
    expect(t).toMatchObject({ dtype: pb.DataType.INT64, encoding: FP32, scale: 0, zeroPoint: 0 });
    expect(hex(t.data!)).toBe('0100000000000000' + 'feffffffffffffff' + '0000000000010000');
    expect(decodeOutput(received(t), undefined).data).toEqual(x);
  });

  it('int32 and uint8', () => {
    const i32 = encodeOutput(info('int32', [2]), Int32Array.from([-1, 258]), { encoding: FP16, zstd: undefined });
    expect(i32).toMatchObject({ dtype: pb.DataType.INT32, encoding: FP32 });
    expect(hex(i32.data!)).toBe('ffffffff02010000');
    expect(decodeOutput(received(i32), undefined).data).toEqual(Int32Array.from([-1, 258]));
    const u8 = encodeOutput(info('uint8', [1, 3]), Uint8Array.from([0, 7, 255]), { encoding: INT8, zstd: undefined });
    expect(u8).toMatchObject({ dtype: pb.DataType.UINT8, encoding: FP32 });
    expect(hex(u8.data!)).toBe('0007ff');
    const d = decodeOutput(received(u8), undefined);
    expect(d).toEqual({ data: Uint8Array.from([0, 7, 255]), dims: [1, 3] });
  });

  it('refuses a dtype answers cannot carry with INTERNAL', () => {
    expect(() => encodeOutput(info('float16', [1]), new Uint8Array(2), { encoding: FP32, zstd: undefined })).toThrow(
      expect.objectContaining({ code: 'INTERNAL', message: 'output y has dtype float16, which answers cannot carry' }),
    );
  });
});

describe('zstd', () => {
  it('wraps when the device accepted zstd and it is smaller, and reads it back', () => {
    const x = new Float32Array(256);
    x[3] = 1.5;
    const t = encodeOutput(info('float32', [256]), x, { encoding: FP32, zstd });
    expect(t.zstd).toBe(true);
    expect(t.data!.length).toBeLessThan(1024);
    expect(decodeOutput(received(t), zstd).data).toEqual(x);
    expect(() => decodeOutput(received(t), undefined)).toThrow(expect.objectContaining({ code: 'CODEC_UNAVAILABLE' }));
  });

  it('keeps small or incompressible tensors plain', () => {
    expect(encodeOutput(info('float32', [10]), new Float32Array(10), { encoding: FP32, zstd }).zstd).toBe(false); // 40 bytes < 64
    const noise = Int32Array.from({ length: 64 }, (_, i) => Math.imul(i + 1, 2654435761));
    expect(encodeOutput(info('int32', [64]), noise, { encoding: FP32, zstd }).zstd).toBe(false);
  });
});

describe('decodeOutput: bytes that do not fit the shape', () => {
  it('refuses a wrong length with BAD_REQUEST, for every width', () => {
    const cases: [Partial<OutputTensor>, number][] = [
      [{ dtype: pb.DataType.FP32, encoding: FP32 }, 8],
      [{ dtype: pb.DataType.FP32, encoding: FP16 }, 4],
      [{ dtype: pb.DataType.FP32, encoding: INT8 }, 2],
      [{ dtype: pb.DataType.INT64 }, 16],
      [{ dtype: pb.DataType.INT32 }, 8],
      [{ dtype: pb.DataType.UINT8 }, 2],
    ];
    for (const [t, size] of cases) {
      expect(() => decodeOutput(received({ name: 'z', shape: [2], scale: 1, ...t, data: new Uint8Array(size + 1) }), undefined)).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST', message: `output z has ${size + 1} bytes; [2] needs ${size}` }),
      );
      expect(decodeOutput(received({ name: 'z', shape: [2], scale: 1, ...t, data: new Uint8Array(size) }), undefined).dims).toEqual([2]);
    }
  });
});

describe('through a real Answer frame', () => {
  it('encodeOutput → Answer → decodeFrame → decodeOutput', () => {
    const x = Float32Array.from([-1, 0, 0.5, 3]);
    const t = encodeOutput(info('float32', [2, 2], 'logits'), x, { encoding: INT8, zstd: undefined });
    const r = decodeFrame(encodeFrame({ type: 'answer', answer: { id: 1, outputs: [t] } }));
    if (!r.ok || r.message.type !== 'answer') throw new Error('answer did not decode');
    const d = decodeOutput(r.message.answer.outputs[0]!, undefined);
    expect(d.dims).toEqual([2, 2]);
    expect(Array.from(d.data as Float32Array)).toEqual(Array.from(decodeOutput(received(t), undefined).data as Float32Array));
  });
});

describe('topK', () => {
  it('best first, ties to the lower index', () => {
    expect(topK([0.1, 0.5, 0.2, 0.5, 0.05], 3)).toEqual([1, 3, 2]);
    expect(topK([1, 2], 5)).toEqual([1, 0]);
    expect(topK([], 2)).toEqual([]);
  });
});
