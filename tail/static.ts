/** Static files for `offramp serve --web`: a root folder and prefix mounts, no path escapes. */
import { createReadStream, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.gz': 'application/gzip', '.map': 'application/json',
};

/** Serves `path` from the mount whose prefix it starts with, else from `root` ('/' → index.html); 404 otherwise. */
export function serveStatic(res: ServerResponse, web: { root: string; mounts?: Record<string, string> }, path: string): void {
  let dir = web.root;
  let rel = path === '/' ? '/index.html' : path;
  for (const [prefix, folder] of Object.entries(web.mounts ?? {})) {
    if (path.startsWith(prefix)) {
      dir = folder;
      rel = path.slice(prefix.length - 1);
      break;
    }
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return void res.writeHead(400).end();
  }
  const base = resolve(dir);
  const file = resolve(join(base, decoded));
  const notFound = (): void => void res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  if (!file.startsWith(base + sep)) return notFound();
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return notFound();
    size = st.size;
  } catch {
    return notFound();
  }
  // Vite's hashed assets never change; the page itself and mounts are revalidated.
  const immutable = /\/assets\/[^/]+-[A-Za-z0-9_-]{8}\.[a-z]+$/.test(file);
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size, 'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' });
  createReadStream(file).pipe(res);
}
