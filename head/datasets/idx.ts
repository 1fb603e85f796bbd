/**
 * IDX files (the MNIST family's format), optionally gzipped: a 4-byte magic (0, 0, type, rank),
 * `rank` big-endian uint32 dims, then the values. Only unsigned bytes (type 0x08) are read.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** An IDX array of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses IDX bytes (gunzipping first when they start with the gzip magic). */
export function parseIdx(bytes: Uint8Array, where = 'IDX data'): IdxArray {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? new Uint8Array(gunzipSync(bytes)) : bytes;
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) throw new Error(`${where}: not an IDX file`);
  if (raw[2] !== 0x08) throw new Error(`${where}: value type 0x${raw[2]!.toString(16)} is not unsigned byte`);
  const rank = raw[3]!;
  const header = 4 + 4 * rank;
  if (raw.length < header) throw new Error(`${where}: truncated header`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== header + count) throw new Error(`${where}: ${raw.length - header} values, dims [${dims.join(', ')}] need ${count}`);
  return { dims, data: raw.subarray(header) };
}

/** Reads an IDX file. */
export async function readIdx(path: string): Promise<IdxArray> {
  return parseIdx(await readFile(path), path);
}
