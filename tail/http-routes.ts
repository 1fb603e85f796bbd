/**
 * The edge's own HTTP routes on the WebSocket port: probes (`/healthz`, `/readyz`, always open),
 * and behind the token when auth is on, `/metrics` (Prometheus), `/v1/models` and the bundle
 * files devices fetch (`/v1/models/<id>/<version>/<file>`). Demo mode's routes are in
 * demo-routes.ts.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { bearerToken, checkToken } from './auth.js';
import type { EdgeState } from './lifecycle.js';
import type { Metrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import type { ServedBundle } from './registry.js';

/** What the routes read. */
export interface RouteContext {
  registry: Map<string, ServedBundle>;
  metrics: Metrics;
  opts: Pick<ResolvedOptions, 'auth'>;
  state: EdgeState;
}

/** A route: true when it answered the request. */
export type Route = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

/** Answers `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** The request's path, without its query. */
export function requestPath(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

/** The core routes; false for a GET/HEAD path they do not serve (every other method gets 405 here). */
export function coreRoutes(ctx: RouteContext): Route {
  const { registry, metrics, opts, state } = ctx;
  return (req, res, path) => {
    const json = (status: number, body: unknown): true => {
      sendJson(res, status, body);
      return true;
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz')
      return state.ready && !state.draining ? json(200, { status: 'ready' }) : json(503, { status: state.draining ? 'draining' : 'starting' });
    // Probes stay open; everything else the edge serves needs the token when auth is on.
    const guarded = path === '/metrics' || path.startsWith('/v1/models');
    if (guarded && opts.auth && checkToken(opts.auth, bearerToken(req))) return json(401, { error: 'unauthorized' });
    if (path === '/metrics') {
      metrics.connections.set(state.connections.size);
      void metrics.registry.metrics().then((text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text));
      return true;
    }
    const file = /^\/v1\/models\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    if (file) {
      serveBundleFile(registry, req, res, file[1]!, file[2]!, file[3]!);
      return true;
    }
    if (path === '/v1/models') return json(200, { models: modelList(registry) });
    return false;
  };
}

/** `/v1/models`: each served bundle's id, version, manifest sha256, task, rate point ids and whether it is timing-only. */
export function modelList(registry: Map<string, ServedBundle>): Record<string, unknown>[] {
  return [...registry.values()].map((s) => ({
    id: s.bundle.manifest.id,
    version: s.bundle.manifest.version,
    manifestSha256: s.bundle.manifestSha256,
    task: s.bundle.manifest.task,
    ratePoints: s.bundle.manifest.bottleneck.ratePoints.map((rp) => rp.id),
    timingOnly: s.bundle.manifest.timingOnly,
  }));
}

/**
 * The sha256 of a file a device may fetch from bundle `s`: the manifest, the head and full graphs,
 * the entropy tables; undefined for any other name (the tail graph stays on the edge).
 */
export function bundleFileSha(s: ServedBundle, name: string): string | undefined {
  const m = s.bundle.manifest;
  if (name === 'manifest.json') return s.bundle.manifestSha256;
  if (name === m.graphs.head.file) return m.graphs.head.sha256;
  if (name === m.graphs.full.file) return m.graphs.full.sha256;
  const tables = m.bottleneck.ratePoints.flatMap((rp) => (rp.codec === 'entropy' ? [rp.tables] : []));
  return tables.find((t) => t.file === name)?.sha256;
}

/**
 * A bundle's manifest or a graph a device runs (head, full), for devices that fetch their bundle
 * (browsers): strong ETag = the file's sha256 (verified at load), immutable caching, 304 on a
 * matching If-None-Match. `id` and `version` as they appear in the URL (percent-encoded).
 */
export function serveBundleFile(
  registry: Map<string, ServedBundle>,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  version: string,
  name: string,
): void {
  const s = [...registry.values()].find((b) => b.bundle.manifest.id === decodeURIComponent(id) && b.bundle.manifest.version === decodeURIComponent(version));
  const sha = s && bundleFileSha(s, name);
  if (!s || !sha) return sendJson(res, 404, { error: 'not found' });
  const etag = `"${sha}"`;
  const headers = {
    ETag: etag,
    'Cache-Control': 'public, max-age=31536000, immutable',
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': 'ETag',
  };
  if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();
  const stream = createReadStream(join(s.bundle.dir, name));
  stream.once('open', () => res.writeHead(200, { ...headers, 'Content-Type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }));
  stream.once('error', () => (res.headersSent ? res.destroy() : res.writeHead(500).end()));
  stream.pipe(res);
}
