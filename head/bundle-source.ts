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

/** Reads files from a folder (Node.js only; loaded on demand so browsers never import node:fs). */
export function folderReader(dir: string): BundleReader {
  return async (name) => {
    const [{ readFile }, { join }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    const path = join(dir, name);
    try {
      return new Uint8Array(await readFile(path));
    } catch (err) {
      throw new OfframpError('BUNDLE_FILE_MISSING', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  };
}

function isUrl(s: BundleSource): s is string | URL {
  return s instanceof URL || (typeof s === 'string' && /^https?:\/\//i.test(s));
}

/** The reader for a source. */
export function readerFor(source: BundleSource, token?: string, fetchTimeoutMs?: number): BundleReader {
  if (isUrl(source)) return urlReader(source, token, fetchTimeoutMs);
  if (typeof source === 'string') return folderReader(source);
  return memoryReader(source);
}

/** Opens what a device runs: manifest, head, full model and entropy tables, all verified. */
export function openDeviceBundle(source: BundleSource, token?: string, fetchTimeoutMs?: number): Promise<OpenedBundle> {
  return openBundle(readerFor(source, token, fetchTimeoutMs), ['head', 'full'], typeof source === 'string' ? `${source}/manifest.json` : 'manifest.json');
}

/** Fetches the files a device needs from `url` into memory (e.g. to cache them). */
export async function fetchBundle(url: string | URL, token?: string, timeoutMs = 30_000): Promise<InMemoryBundle> {
  const read = urlReader(url, token, timeoutMs);
  const files: Record<string, Uint8Array> = {};
  const recording: BundleReader = async (name) => (files[name] = await read(name));
  await openBundle(recording, ['head', 'full']);
  return { files };
}
