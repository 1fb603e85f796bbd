/**
 * Static files for `offramp serve --web`: a root folder and prefix mounts, no path escapes.
 *
 * - Compressed when the browser accepts it: a `<file>.br` / `<file>.gz` written beside the file
 *   at build time (web/build-plugins.ts) is sent as it is; other compressible files of 1 KiB or
 *   more are compressed once, off the event loop, and kept in memory (bounded).
 * - A strong ETag from the file's content (per encoding) and 304 on a matching If-None-Match.
 * - `Cache-Control: immutable` for the build's hashed assets (`/assets/<name>-<hash>.<ext>` under
 *   the root: their content never changes under that name); everything else is revalidated.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.gz': 'application/gzip',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.idx': 'application/octet-stream',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.wasm', '.svg', '.map', '.txt', '.idx']);
/** Smaller files go as they are: the headers would cost more than compression saves. */
const MIN_COMPRESS_BYTES = 1024;
/** Memory for files compressed on the fly, bytes (least recently used first out). */
const CACHE_BYTES = 64 * 1024 * 1024;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** Where static files come from. */
export interface StaticSite {
  root: string;
  mounts?: Record<string, string>;
}

type Encoding = 'br' | 'gzip';
const SUFFIX: Record<Encoding, string> = { br: '.br', gzip: '.gz' };

const compressBr = promisify(brotliCompress);
const compressGz = promisify(gzip);

/** On-the-fly compressions and content hashes, keyed by file, size and mtime (so an edited file is redone). */
const compressed = new Map<string, Promise<Buffer>>();
const cachedBytes = new Map<string, number>();
let cacheTotal = 0;
const hashes = new Map<string, Promise<string>>();

function stamp(file: string, st: Stats): string {
  return `${file}\0${st.size}\0${st.mtimeMs}`;
}

/** The file's sha256 (hex, first 32 digits): its ETag's base. */
function contentHash(file: string, st: Stats): Promise<string> {
  const key = stamp(file, st);
  let h = hashes.get(key);
  if (!h) {
    h = readFile(file).then((b) => createHash('sha256').update(b).digest('hex').slice(0, 32));
    h.catch(() => hashes.delete(key));
    hashes.set(key, h);
  }
  return h;
}

function compressOnce(file: string, st: Stats, enc: Encoding): Promise<Buffer> {
  const key = `${stamp(file, st)}\0${enc}`;
  let p = compressed.get(key);
  if (p) {
    // Most recently used last.
    compressed.delete(key);
    compressed.set(key, p);
    return p;
  }
  p = readFile(file).then((b) =>
    enc === 'br'
      ? compressBr(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } })
      : compressGz(b, { level: 6 }),
  );
  compressed.set(key, p);
  p.then(
    (b) => {
      cachedBytes.set(key, b.length);
      cacheTotal += b.length;
      for (const [k] of compressed) {
        if (cacheTotal <= CACHE_BYTES || k === key) break;
        compressed.delete(k);
        cacheTotal -= cachedBytes.get(k) ?? 0;
        cachedBytes.delete(k);
      }
    },
    () => compressed.delete(key),
  );
  return p;
}

/** The encodings `accept` (an Accept-Encoding header) allows, best first. */
export function acceptedEncodings(accept: string | undefined): Encoding[] {
  const q = new Map<string, number>();
  for (const part of (accept ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const qp = params.map((s) => s.trim()).find((s) => s.startsWith('q='));
    q.set(name, qp ? Number(qp.slice(2)) : 1);
  }
  const ok = (e: string): boolean => (q.get(e) ?? q.get('*') ?? 0) > 0;
  return (['br', 'gzip'] as const).filter(ok);
}

function statFile(file: string): Stats | undefined {
  try {
    const st = statSync(file);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

/** True when `If-None-Match` lists `etag` (or is `*`). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const s = t.trim().replace(/^W\//, '');
    return s === etag || s === '*';
  });
}

/** Where a request path points: the folder it is served from, and whether that is a prefix mount (not the root). */
function locate(web: StaticSite, path: string): { dir: string; rel: string; mounted: boolean } {
  for (const [prefix, folder] of Object.entries(web.mounts ?? {})) {
    if (path.startsWith(prefix)) return { dir: folder, rel: path.slice(prefix.length - 1), mounted: true };
  }
  return { dir: web.root, rel: path === '/' ? '/index.html' : path, mounted: false };
}

/** One file to send: its stat, the headers so far, the encoding chosen, and a precompressed sibling when one is there. */
interface Reply {
  file: string;
  st: Stats;
  headers: Record<string, string | number>;
  enc: Encoding | undefined;
  sibling: { e: Encoding; f: string } | undefined;
}

/** Serves `path` from the mount whose prefix it starts with, else from `root` ('/' → index.html); 404 otherwise. */
export function serveStatic(res: ServerResponse, web: StaticSite, path: string): void {
  const { dir, rel, mounted } = locate(web, path);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return void res.writeHead(400).end();
  }
  const base = resolve(dir);
  const file = resolve(join(base, decoded));
  const notFound = (): void => void res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  // Precompressed copies are served in place of their file, never asked for by name.
  if (!file.startsWith(base + sep) || (/\.(br|gz)$/.test(file) && statFile(file.replace(/\.(br|gz)$/, '')))) return notFound();
  const st = statFile(file);
  if (!st) return notFound();
  const req = res.req as IncomingMessage | undefined;
  const ext = extname(file);
  const hashed = !mounted && /[/\\]assets[/\\][^/\\]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/i.test(file);
  const compressible = COMPRESSIBLE.has(ext) && st.size >= MIN_COMPRESS_BYTES;
  const headers: Record<string, string | number> = {
    'Content-Type': TYPES[ext] ?? 'application/octet-stream',
    'Cache-Control': hashed ? IMMUTABLE : REVALIDATE,
    'X-Content-Type-Options': 'nosniff',
    ...(compressible ? { Vary: 'Accept-Encoding' } : {}),
  };
  const encodings = compressible ? acceptedEncodings(req?.headers['accept-encoding']) : [];
  // A sibling written at build time, else one made here.
  const sibling = encodings.map((e) => ({ e, f: `${file}${SUFFIX[e]}` })).find(({ f }) => statFile(f));
  const fail = (): void => void (res.headersSent ? res.destroy() : res.writeHead(500).end());
  reply(res, req, { file, st, headers, enc: sibling?.e ?? encodings[0], sibling }, fail).catch(fail);
}

/** Sends the file (its sibling, or a compressed copy) with a content ETag, or 304 when the browser has it; only headers for HEAD. */
async function reply(res: ServerResponse, req: IncomingMessage | undefined, r: Reply, fail: () => void): Promise<void> {
  const { file, st, headers, enc, sibling } = r;
  const head = req?.method === 'HEAD';
  const hash = await contentHash(file, st);
  const etag = `"${hash}${enc ? `-${enc}` : ''}"`;
  headers.ETag = etag;
  if (matches(req?.headers['if-none-match'], etag)) return void res.writeHead(304, headers).end();
  if (enc) headers['Content-Encoding'] = enc;
  if (sibling) {
    const sst = statFile(sibling.f)!;
    res.writeHead(200, { ...headers, 'Content-Length': sst.size });
    if (head) return void res.end();
    return void createReadStream(sibling.f).on('error', fail).pipe(res);
  }
  if (enc) {
    const body = await compressOnce(file, st, enc);
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    return void res.end(head ? undefined : body);
  }
  res.writeHead(200, { ...headers, 'Content-Length': st.size });
  if (head) return void res.end();
  createReadStream(file).on('error', fail).pipe(res);
}
