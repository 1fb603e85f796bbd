/**
 * JPEG as an input encoding (a baseline, Node only: jpeg-js). A 28×28 JPEG is mostly header
 * (quantization and Huffman tables, ~600 B): both sides can rebuild that header from the
 * quality and the image size, so the payload is only the entropy-coded scan (an "abbreviated"
 * stream in the JPEG standard's terms). The edge prepends the header jpeg-js writes for the same
 * quality and size, and decodes.
 */
import jpeg from 'jpeg-js';
import { OfframpError } from '../protocol/errors.js';

/** Encodes and decodes abbreviated JPEG scans. */
export interface JpegBackend {
  encodeScan(sample: Uint8Array, shape: readonly number[], quality: number): Uint8Array;
  decodeScan(scan: Uint8Array, shape: readonly number[], quality: number): Uint8Array;
}

interface Geometry {
  planes: number;
  h: number;
  w: number;
}

function geometry(shape: readonly number[]): Geometry {
  const h = shape[shape.length - 2]!;
  const w = shape[shape.length - 1]!;
  let planes = 1;
  for (const d of shape.slice(0, -2)) planes *= d;
  if (planes !== 1 && planes !== 3) throw new RangeError(`jpeg needs 1 or 3 planes, got ${planes}`);
  return { planes, h, w };
}

/** Interleaved RGBA of a planar (1 or 3 plane) uint8 sample. */
function toRgba(sample: Uint8Array, g: Geometry): Uint8Array {
  const px = g.h * g.w;
  const out = new Uint8Array(px * 4);
  for (let i = 0; i < px; i++) {
    out[i * 4] = sample[i]!;
    out[i * 4 + 1] = sample[(g.planes === 3 ? px : 0) + i]!;
    out[i * 4 + 2] = sample[(g.planes === 3 ? 2 * px : 0) + i]!;
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** Offset just past the SOS segment (where the scan begins). */
function scanStart(bytes: Uint8Array): number {
  for (let i = 2; i + 3 < bytes.length;) {
    if (bytes[i] !== 0xff) throw new Error('malformed JPEG header');
    const marker = bytes[i + 1]!;
    const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (marker === 0xda) return i + 2 + len;
    i += 2 + len;
  }
  throw new Error('JPEG without a scan');
}

const headers = new Map<string, Uint8Array>();

function header(g: Geometry, quality: number): Uint8Array {
  const key = `${g.w}x${g.h}@${quality}`;
  let h = headers.get(key);
  if (!h) {
    const full = jpeg.encode({ data: new Uint8Array(g.w * g.h * 4), width: g.w, height: g.h }, quality).data;
    h = Uint8Array.from(full.subarray(0, scanStart(full)));
    headers.set(key, h);
  }
  return h;
}

/** jpeg-js behind {@link JpegBackend}. */
export const jpegJs: JpegBackend = {
  encodeScan(sample, shape, quality) {
    const g = geometry(shape);
    const full = jpeg.encode({ data: toRgba(sample, g), width: g.w, height: g.h }, quality).data;
    // Everything between the header and the EOI marker.
    return Uint8Array.from(full.subarray(scanStart(full), full.length - 2));
  },
  decodeScan(scan, shape, quality) {
    const g = geometry(shape);
    const head = header(g, quality);
    const bytes = new Uint8Array(head.length + scan.length + 2);
    bytes.set(head);
    bytes.set(scan, head.length);
    bytes.set([0xff, 0xd9], head.length + scan.length);
    let img: { data: Uint8Array; width: number; height: number };
    try {
      img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 1, maxMemoryUsageInMB: 64 });
    } catch (err) {
      throw new OfframpError('BAD_REQUEST', `jpeg scan does not decode: ${(err as Error).message}`, { cause: err });
    }
    if (img.width !== g.w || img.height !== g.h) throw new OfframpError('BAD_REQUEST', `jpeg decoded to ${img.width}×${img.height}, not ${g.w}×${g.h}`);
    const px = g.h * g.w;
    const out = new Uint8Array(px * g.planes);
    for (let p = 0; p < g.planes; p++) for (let i = 0; i < px; i++) out[p * px + i] = img.data[i * 3 + p]!;
    return out;
  },
};
