/**
 * Where a device's bundle comes from: a folder (Node.js), an http(s) URL (e.g. an edge's
 * `/v1/models/<id>/<version>/`), or its files in memory. Every way ends in the same checks: the
 * manifest's schema, and the sha256 of every file the device uses (head, full model, entropy tables).
 */
import type { BundleReader, OpenedBundle } from '../protocol/bundle-files.js';
import { openBundle } from '../protocol/bundle-files.js';
import { OfframpError } from '../protocol/errors.js';

/** A bundle held in memory: its files by name (`manifest.json`, `head.onnx`, …). */
export interface InMemoryBundle {
  files: Record<string, Uint8Array>;
}

/** A bundle folder, a URL of one, or its files in memory. */
export type BundleSource = string | URL | InMemoryBundle;

/** Reads files from `url` (a folder URL), each within `timeoutMs`, with an optional bearer token. */
export function urlReader(url: string | URL, token?: string, timeoutMs = 30_000): BundleReader {
  const base = new URL(String(url).endsWith('/') ? String(url) : `${String(url)}/`);
  return async (name) => {
    try {
      // One deadline for the whole file, body included: a server that stalls cannot hang createDevice.
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await fetch(new URL(encodeURIComponent(name), base), { signal, ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}) });
      if (!res.ok) throw new OfframpError('BUNDLE_FILE_MISSING', `${name}: ${base.href} answered ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      if (e instanceof OfframpError) throw e;
      const why = (e as Error).name === 'TimeoutError' ? `no complete answer within ${timeoutMs} ms` : (e as Error).message;
      throw new OfframpError('BUNDLE_FILE_MISSING', `${name}: cannot fetch from ${base.href}: ${why}`, { cause: e });
    }
  };
}

/** Reads files from memory. */
export function memoryReader(b: InMemoryBundle): BundleReader {
  return (name) => {
    const bytes = b.files[name];
    return bytes ? Promise.resolve(bytes) : Promise.reject(new OfframpError('BUNDLE_FILE_MISSING', `the in-memory bundle has no ${name}`));
  };
}

/** A string source that is an http(s) URL (any other string is a folder path). */
const HTTP_URL = /^https?:\/\//i;

/** The reader for a source; `readFolder` reads folders (Node.js), absent in browsers. */
export function readerFor(source: BundleSource, token?: string, fetchTimeoutMs?: number, readFolder?: (dir: string) => BundleReader): BundleReader {
  if (source instanceof URL || (typeof source === 'string' && HTTP_URL.test(source))) return urlReader(source, token, fetchTimeoutMs);
  if (typeof source === 'string') {
    if (!readFolder)
      throw new OfframpError('INVALID_ARGUMENT', `a bundle folder (${source}) can be read only in Node.js; give a URL of the bundle or its files in memory`);
    return readFolder(source);
  }
  if (source === null || typeof source !== 'object' || typeof source.files !== 'object') {
    throw new OfframpError('INVALID_ARGUMENT', 'bundle must be a folder, an http(s) URL, or { files: { "manifest.json": bytes, ... } }');
  }
  return memoryReader(source);
}

/** Opens what a device runs: manifest, head, full model and entropy tables, all verified. */
export function openDeviceBundle(
  source: BundleSource,
  token?: string,
  fetchTimeoutMs?: number,
  readFolder?: (dir: string) => BundleReader,
): Promise<OpenedBundle> {
  return openBundle(
    readerFor(source, token, fetchTimeoutMs, readFolder),
    ['head', 'full'],
    typeof source === 'string' ? `${source}/manifest.json` : 'manifest.json',
  );
}

/** Fetches the files a device needs from `url` into memory (e.g. to cache them). */
export async function fetchBundle(url: string | URL, token?: string, timeoutMs = 30_000): Promise<InMemoryBundle> {
  const read = urlReader(url, token, timeoutMs);
  const files: Record<string, Uint8Array> = {};
  const recording: BundleReader = async (name) => (files[name] = await read(name));
  await openBundle(recording, ['head', 'full']);
  return { files };
}
