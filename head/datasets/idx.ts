/** IDX files in Node.js: synchronous parsing (gunzip with node:zlib) and reading from disk. */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { decodeIdx, isGzip, type IdxArray } from './idx-parse.js';

export type { IdxArray };

/** Parses IDX bytes (gunzipping first when they start with the gzip magic). */
export function parseIdx(bytes: Uint8Array, where = 'IDX data'): IdxArray {
  return decodeIdx(isGzip(bytes) ? new Uint8Array(gunzipSync(bytes)) : bytes, where);
}

/** Reads an IDX file. */
export async function readIdx(path: string): Promise<IdxArray> {
  return parseIdx(await readFile(path), path);
}
