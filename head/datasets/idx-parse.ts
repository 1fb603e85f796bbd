/**
 * IDX files (the MNIST family's format), read anywhere (Node.js and browsers): a 4-byte magic
 * (0, 0, type, rank), `rank` big-endian uint32 dims, then the values. Only unsigned bytes (type
 * 0x08) are read. Gzipped files are inflated with the platform's DecompressionStream.
 */

import { OfframpError } from '../../protocol/errors.js';

/** An IDX array of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Is `bytes` gzip (magic 1f 8b)? */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses IDX bytes that are not compressed. */
export function decodeIdx(raw: Uint8Array, where = 'IDX data'): IdxArray {
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) throw new OfframpError('INVALID_ARGUMENT', `${where}: not an IDX file`);
  if (raw[2] !== 0x08) throw new OfframpError('INVALID_ARGUMENT', `${where}: value type 0x${raw[2]!.toString(16)} is not unsigned byte`);
  const rank = raw[3]!;
  const header = 4 + 4 * rank;
  if (raw.length < header) throw new OfframpError('INVALID_ARGUMENT', `${where}: truncated header`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== header + count)
    throw new OfframpError('INVALID_ARGUMENT', `${where}: ${raw.length - header} values, dims [${dims.join(', ')}] need ${count}`);
  return { dims, data: raw.subarray(header) };
}

/** Parses IDX bytes, inflating them first when they are gzipped. */
export async function parseIdxAsync(bytes: Uint8Array, where = 'IDX data'): Promise<IdxArray> {
  if (!isGzip(bytes)) return decodeIdx(bytes, where);
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return decodeIdx(new Uint8Array(await new Response(stream).arrayBuffer()), where);
}
