/**
 * The input codec: how full offload sends the raw sample (the manifest's `input.raw`, uint8
 * values) to the edge's full model, one encoding bound per Hello entry. `raw` is lossless (zstd-
 * wrapped when smaller); `downsample` and `jpeg` are lossy baselines the bench compares split
 * computing against at equal bytes. `decodeInput` rebuilds a sample of the raw shape.
 */
import { OfframpError } from '../protocol/errors.js';
import { packBits, unpackBits } from './bitpack.js';
import { elementCount, unwrap, wrapIfSmaller, type EncodedPayload, type EncodeOptions } from './features.js';
import type { JpegBackend } from './jpeg.js';
import type { ZstdBackend } from './zstd.js';

/** One way of sending the raw input. */
export type InputEncoding = { codec: 'raw' } | { codec: 'downsample'; factor: number; bits: number } | { codec: 'jpeg'; quality: number };

/** Problem with an input encoding for a raw shape, or undefined. */
export function inputEncodingProblem(shape: readonly number[], e: InputEncoding): string | undefined {
  if (e.codec === 'downsample') {
    if (!Number.isInteger(e.factor) || e.factor < 2 || e.factor > 64) return `downsample factor must be 2..64, got ${e.factor}`;
    if (!Number.isInteger(e.bits) || e.bits < 1 || e.bits > 8) return `downsample bits must be 1..8, got ${e.bits}`;
    if (shape.length < 2) return 'downsampling needs a raw shape with two spatial dims';
  } else if (e.codec === 'jpeg') {
    if (!Number.isInteger(e.quality) || e.quality < 1 || e.quality > 100) return `jpeg quality must be 1..100, got ${e.quality}`;
    const lead = elementCount(shape.slice(0, -2));
    if (shape.length < 2 || (lead !== 1 && lead !== 3)) return 'jpeg needs a raw shape [H, W], [1, H, W] or [3, H, W]';
  }
  return undefined;
}

/** Spatial geometry: `planes` planes of h × w, downsampled to ⌈h/f⌉ × ⌈w/f⌉. */
function geometry(shape: readonly number[], f: number): { planes: number; h: number; w: number; dh: number; dw: number } {
  const h = shape[shape.length - 2]!;
  const w = shape[shape.length - 1]!;
  return { planes: elementCount(shape.slice(0, -2)), h, w, dh: Math.ceil(h / f), dw: Math.ceil(w / f) };
}

/** Needed for `jpeg` encodings (Node: `jpegJs` from bottleneck/jpeg.ts). */
export interface InputCodecOptions extends EncodeOptions {
  jpeg?: JpegBackend;
}

function needJpeg(jpeg: JpegBackend | undefined): JpegBackend {
  if (!jpeg) throw new OfframpError('CODEC_UNAVAILABLE', 'a jpeg input encoding needs a JPEG backend (jpegJs from offramp/node)');
  return jpeg;
}

/** Encodes a raw sample of `shape` (uint8; float32 samples only as `raw`, little-endian). */
export function encodeInput(sample: Uint8Array | Float32Array, shape: readonly number[], e: InputEncoding, options: InputCodecOptions = {}): EncodedPayload {
  const n = elementCount(shape);
  if (sample.length !== n) throw new RangeError(`sample has ${sample.length} values; shape [${shape.join(', ')}] needs ${n}`);
  if (sample instanceof Float32Array) {
    if (e.codec !== 'raw') throw new RangeError(`float32 samples are sent raw, not as ${e.codec}`);
    return wrapIfSmaller(new Uint8Array(sample.buffer, sample.byteOffset, sample.byteLength), options);
  }
  if (e.codec === 'raw') return wrapIfSmaller(sample, options);
  if (e.codec === 'jpeg') return { payload: needJpeg(options.jpeg).encodeScan(sample, shape, e.quality), zstd: false };
  const { planes, h, w, dh, dw } = geometry(shape, e.factor);
  const levels = (1 << e.bits) - 1;
  const q = new Uint8Array(planes * dh * dw);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    for (let by = 0; by < dh; by++) {
      for (let bx = 0; bx < dw; bx++) {
        let sum = 0;
        let count = 0;
        for (let y = by * e.factor; y < Math.min(h, (by + 1) * e.factor); y++) {
          for (let x = bx * e.factor; x < Math.min(w, (bx + 1) * e.factor); x++) {
            sum += sample[p * h * w + y * w + x]!;
            count++;
          }
        }
        q[o++] = Math.floor(((sum / count) * levels) / 255 + 0.5);
      }
    }
  }
  return wrapIfSmaller(packBits(q, e.bits), options);
}

/** Largest payload an input encoding may have for `shape`, bytes. */
export function maxInputBytes(shape: readonly number[], e: InputEncoding): number {
  if (e.codec === 'raw') return elementCount(shape);
  if (e.codec === 'jpeg') return 8 * elementCount(shape) + 1024;
  const { planes, dh, dw } = geometry(shape, e.factor);
  return Math.ceil((planes * dh * dw * e.bits) / 8);
}

/** Decodes a payload back to a raw uint8 sample of `shape` (lossy encodings: the reconstruction). */
export function decodeInput(
  payload: Uint8Array,
  zstdFlag: boolean,
  shape: readonly number[],
  e: InputEncoding,
  options: { zstd?: ZstdBackend; jpeg?: JpegBackend } = {},
): Uint8Array {
  const zstd = options.zstd;
  const n = elementCount(shape);
  if (e.codec === 'raw') return unwrap(payload, zstdFlag, { exact: n }, zstd).slice();
  if (e.codec === 'jpeg') {
    if (zstdFlag) throw new OfframpError('BAD_REQUEST', 'jpeg payloads are never zstd-wrapped');
    if (payload.length > maxInputBytes(shape, e))
      throw new OfframpError('TOO_LARGE', `jpeg payload of ${payload.length} bytes is larger than any ${shape.join('×')} image needs`);
    return needJpeg(options.jpeg).decodeScan(payload, shape, e.quality);
  }
  const { planes, h, w, dh, dw } = geometry(shape, e.factor);
  const count = planes * dh * dw;
  const q = unpackBits(unwrap(payload, zstdFlag, { exact: Math.ceil((count * e.bits) / 8) }, zstd), e.bits, count);
  const levels = (1 << e.bits) - 1;
  const out = new Uint8Array(n);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = q[p * dh * dw + Math.floor(y / e.factor) * dw + Math.floor(x / e.factor)]!;
        out[p * h * w + y * w + x] = Math.floor((v * 255) / levels + 0.5);
      }
    }
  }
  return out;
}
