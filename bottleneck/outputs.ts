/**
 * Output tensors in answers (the response codec): float32 outputs as float32, float16 or int8
 * (per-tensor affine, scale and zero point in the message), integer outputs as they are
 * (little-endian), each zstd-wrapped when that is smaller and the device accepted zstd.
 * `encodeOutput` runs on the edge, `decodeOutput` on the device.
 */
import { OfframpError } from '../protocol/errors.js';
import { pb, type OutputTensor, type OutputTensorInit } from '../protocol/messages.js';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import type { ZstdBackend } from './zstd.js';

/** One output's values (for one sample or a batch). */
export type OutputData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** What an answer needs to know about one of the bundle's outputs. */
export interface OutputInfo {
  name: string;
  kind: 'class-logits' | 'tensor';
  dtype: string;
  /** Per-sample shape. */
  shape: number[];
}

/** A decoded output tensor. */
export interface DecodedOutput {
  data: OutputData;
  dims: number[];
}

const DTYPE_TO_WIRE: Record<string, number> = {
  float32: pb.DataType.FP32,
  int64: pb.DataType.INT64,
  int32: pb.DataType.INT32,
  uint8: pb.DataType.UINT8,
};

/** The connection's terms for output tensors. */
export interface OutputTerms {
  encoding: number;
  zstd: ZstdBackend | undefined;
}

/** Indices of the k largest values, best first (ties: lower index first). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, k);
}

function bytesOf(a: OutputData): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** One output tensor in the wire form. Throws INTERNAL for values that cannot travel (NaN). */
export function encodeOutput(info: OutputInfo, data: OutputData, terms: OutputTerms): OutputTensorInit {
  const dtype = DTYPE_TO_WIRE[info.dtype];
  if (dtype === undefined) throw new OfframpError('INTERNAL', `output ${info.name} has dtype ${info.dtype}, which answers cannot carry`);
  let encoding = pb.OutputEncoding.OUTPUT_FP32;
  let scale = 0;
  let zeroPoint = 0;
  let bytes: Uint8Array;
  if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) throw new OfframpError('INTERNAL', `output ${info.name} holds a non-finite value at ${i}`);
    }
    encoding = terms.encoding;
    if (encoding === pb.OutputEncoding.OUTPUT_FP16) bytes = encodeFloat16(data);
    else if (encoding === pb.OutputEncoding.OUTPUT_INT8) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of data) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (data.length === 0) lo = hi = 0;
      scale = Math.fround((hi - lo) / 255) || 1;
      zeroPoint = Math.fround(-lo / scale);
      bytes = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.floor(data[i]! / scale + zeroPoint + 0.5)));
    } else bytes = bytesOf(data).slice();
  } else {
    bytes = bytesOf(data).slice();
  }
  let zstd = false;
  if (terms.zstd && bytes.length >= 64) {
    const z = terms.zstd.compress(bytes, 3);
    if (z.length < bytes.length) {
      bytes = z;
      zstd = true;
    }
  }
  return { name: info.name, dtype, shape: info.shape, encoding, scale, zeroPoint, zstd, data: bytes };
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Decodes an answer's output tensor; throws BAD_REQUEST when its bytes do not fit its shape. */
export function decodeOutput(t: OutputTensor, zstd: ZstdBackend | undefined): DecodedOutput {
  const n = product(t.shape);
  const width =
    t.dtype === pb.DataType.INT64
      ? 8
      : t.dtype === pb.DataType.UINT8
        ? 1
        : t.dtype === pb.DataType.INT32
          ? 4
          : t.encoding === pb.OutputEncoding.OUTPUT_FP16
            ? 2
            : t.encoding === pb.OutputEncoding.OUTPUT_INT8
              ? 1
              : 4;
  const size = n * width;
  let bytes = t.data;
  if (t.zstd) {
    if (!zstd) throw new OfframpError('CODEC_UNAVAILABLE', `output ${t.name} is zstd-wrapped but no zstd backend was given`);
    bytes = zstd.decompress(bytes, size);
  }
  if (bytes.length !== size) throw new OfframpError('BAD_REQUEST', `output ${t.name} has ${bytes.length} bytes; [${t.shape.join(', ')}] needs ${size}`);
  const copy = new Uint8Array(bytes); // a copy at offset 0 (a Buffer's slice() would be a view), so typed views align
  const dims = [...t.shape];
  if (t.dtype === pb.DataType.INT64) return { data: new BigInt64Array(copy.buffer), dims };
  if (t.dtype === pb.DataType.INT32) return { data: new Int32Array(copy.buffer), dims };
  if (t.dtype === pb.DataType.UINT8) return { data: copy, dims };
  if (t.encoding === pb.OutputEncoding.OUTPUT_FP16) return { data: decodeFloat16(copy, new Float32Array(n)), dims };
  if (t.encoding === pb.OutputEncoding.OUTPUT_INT8) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (copy[i]! - t.zeroPoint) * t.scale;
    return { data: out, dims };
  }
  return { data: new Float32Array(copy.buffer), dims };
}
