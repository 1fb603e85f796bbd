/**
 * `createEdgeServer`: HTTP(S) + WebSocket on one port. Upgrades are checked (draining, Origin,
 * credentials) before any WebSocket frame; inference runs in a worker pool behind the batcher.
 */
import { createReadStream } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { loadZstd } from '../bottleneck/zstd-native.js';
import { OfframpError } from '../protocol/errors.js';
import { importOptional } from '../protocol/optional.js';
import { resolveFrameLimits } from '../protocol/frame.js';
import { bearerToken, checkToken, KNOWN_SUBPROTOCOLS } from './auth.js';
import { jpegJs } from '../bottleneck/jpeg.js';
import { EdgeConnection, type ServerContext } from './connection.js';
import { DedupWindow } from './dedup.js';
import { createMetrics } from './metrics.js';
import { DEFAULTS, type EdgeServerOptions, type ResolvedOptions } from './options.js';
import { WorkerPool } from './pool.js';
import { graphKey, loadRegistry, product, workerGraphs } from './registry.js';
import { Scheduler } from './scheduler.js';
import { serveStatic } from './static.js';

/** A running edge server. */
export interface EdgeServer {
  /** Where it listens (port 0 resolved). */
  address: { host: string; port: number };
  /** ws:// or wss:// URL of the WebSocket endpoint. */
  url: string;
  /** Readiness goes 503 at once; in-flight requests finish (up to drainTimeoutMs); sockets close 1001. */
  drain(): Promise<void>;
  /** Stops now: queued requests end SHUTTING_DOWN, sockets close 1001, workers stop. */
  close(): Promise<void>;
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
  socket.destroy();
}

/** Starts an edge server serving every bundle under `options.models`. */
export async function createEdgeServer(options: EdgeServerOptions): Promise<EdgeServer> {
  const opts: ResolvedOptions = {
    ...DEFAULTS,
    serverId: `offramp-edge-${process.pid}`,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    logger: options.logger ?? pino({ level: 'silent' }),
  } as ResolvedOptions;
  const log = opts.logger;
  // The workers run onnxruntime-node: say so now, not as a worker crash.
  await importOptional('onnxruntime-node', 'the edge server (offramp/tail)', () => import('onnxruntime-node'));
  const registry = await loadRegistry(opts.models);
  const largest = opts.maxFrameBytes ?? Math.max(...[...registry.values()].map((s) => s.maxFrameBytes));
  const limits = resolveFrameLimits({ maxFrameBytes: largest });
  const zstd = await loadZstd();
  const metrics = createMetrics();
  const pool = await WorkerPool.start(
    { graphs: workerGraphs(registry), intraOpThreads: opts.intraOpThreads, spinning: opts.spinning, nice: opts.workerNice },
    opts.workers,
  );
  pool.onRespawn = (reason) => log.warn({ event: 'worker-respawn', reason }, 'an inference worker died and was replaced');
  const scheduler = new Scheduler(pool, opts, {
    onBatch: (_key, size) => metrics.batchSize.observe(size),
    onDepth: (key, depth) => metrics.queueDepth.set({ graph: key }, depth),
  });
  for (const s of registry.values()) {
    scheduler.addGraph(graphKey(s.key, 'tail'), product(s.featureShape));
    scheduler.addGraph(graphKey(s.key, 'full'), product(s.inputShape));
  }
  let draining = false;
  let edgeAway = false;
  let ready = true;
  const connections = new Set<EdgeConnection>();
  const dedup = new DedupWindow(opts.dedupWindowMs, opts.dedupMaxBytes);
  const ctx: ServerContext = { registry, scheduler, dedup, zstd, jpeg: jpegJs, opts, limits, metrics, logger: log, isDraining: () => draining };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    // Demo mode only: take the edge away (every WebSocket closed, upgrades refused) and bring it back.
    if (opts.web && req.method === 'POST' && path === '/v1/demo/edge') {
      edgeAway = new URL(req.url ?? '/', 'http://x').searchParams.get('away') === 'true';
      if (edgeAway) for (const c of connections) c.terminate();
      return json(200, { away: edgeAway });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') return ready && !draining ? json(200, { status: 'ready' }) : json(503, { status: draining ? 'draining' : 'starting' });
    // Probes stay open; everything else the edge serves needs the token when auth is on.
    const guarded = path === '/metrics' || (path ?? '').startsWith('/v1/models');
    if (guarded && opts.auth && checkToken(opts.auth, bearerToken(req))) return json(401, { error: 'unauthorized' });
    if (path === '/metrics') {
      metrics.connections.set(connections.size);
      void metrics.registry.metrics().then((text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text));
      return;
    }
    if (opts.web && path === '/v1/demo') return json(200, opts.web.demo ?? {});
    const file = /^\/v1\/models\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path ?? '');
    if (file) return serveBundleFile(req, res, file[1]!, file[2]!, file[3]!);
    if (path === '/v1/models') {
      return json(200, {
        models: [...registry.values()].map((s) => ({
          id: s.bundle.manifest.id,
          version: s.bundle.manifest.version,
          manifestSha256: s.bundle.manifestSha256,
          task: s.bundle.manifest.task,
          ratePoints: s.bundle.manifest.bottleneck.ratePoints.map((rp) => rp.id),
          timingOnly: s.bundle.manifest.timingOnly,
        })),
      });
    }
    if (opts.web) return serveStatic(res, opts.web, path ?? '/');
    json(404, { error: 'not found' });
  };
  /**
   * A bundle's manifest or a graph a device runs (head, full), for devices that fetch their bundle
   * (browsers): strong ETag = the file's sha256 (verified at load), immutable caching, 304 on a
   * matching If-None-Match. Behind the same token as the WebSocket when auth is on.
   */
  const serveBundleFile = (req: IncomingMessage, res: ServerResponse, id: string, version: string, name: string): void => {
    const s = [...registry.values()].find((b) => b.bundle.manifest.id === decodeURIComponent(id) && b.bundle.manifest.version === decodeURIComponent(version));
    const m = s?.bundle.manifest;
    const tables = m?.bottleneck.ratePoints.flatMap((rp) => (rp.codec === 'entropy' ? [rp.tables] : [])) ?? [];
    const sha = !m
      ? undefined
      : name === 'manifest.json'
        ? s.bundle.manifestSha256
        : name === m.graphs.head.file
          ? m.graphs.head.sha256
          : name === m.graphs.full.file
            ? m.graphs.full.sha256
            : tables.find((t) => t.file === name)?.sha256;
    if (!s || !sha) return void res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    const etag = `"${sha}"`;
    const headers = {
      ETag: etag,
      'Cache-Control': 'public, max-age=31536000, immutable',
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers': 'ETag',
    };
    if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();
    const path = join(s.bundle.dir, name);
    const stream = createReadStream(path);
    stream.once('open', () => res.writeHead(200, { ...headers, 'Content-Type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }));
    stream.once('error', () => (res.headersSent ? res.destroy() : res.writeHead(500).end()));
    stream.pipe(res);
  };
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handle) : createHttpServer(handle);
  const wss = new WebSocketServer({
    noServer: true,
    // Frames up to twice the limit are read so that their request ends with TOO_LARGE; only
    // beyond that does the socket close (1009).
    maxPayload: 2 * limits.maxFrameBytes,
    perMessageDeflate: false,
    handleProtocols: (protocols) => KNOWN_SUBPROTOCOLS.find((p) => protocols.has(p)) ?? false,
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (draining || edgeAway) return reject(socket, 503, 'Service Unavailable');
    const origin = req.headers.origin;
    if (opts.origins && origin !== undefined && !opts.origins.includes(origin)) return reject(socket, 403, 'Forbidden');
    // With auth on, an upgrade that carries a token must carry a good one; one without may still
    // authenticate in its Hello (auth_token).
    const token = bearerToken(req);
    if (opts.auth && token !== undefined) {
      const why = checkToken(opts.auth, token);
      if (why) {
        log.info({ event: 'unauthenticated', why, remote: req.socket.remoteAddress }, 'upgrade refused');
        return reject(socket, 401, 'Unauthorized');
      }
    }
    const upgradeAuthenticated = !opts.auth || token !== undefined;
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const conn = new EdgeConnection(ws, ctx, log.child({ remote: req.socket.remoteAddress }), upgradeAuthenticated);
      connections.add(conn);
      ws.on('close', () => connections.delete(conn));
      ws.on('error', (err) => log.debug({ event: 'socket-error', err: err.message }, 'socket error'));
    });
  });

  const heartbeat = setInterval(() => {
    for (const c of connections) {
      if (!c.alive) {
        c.terminate();
        continue;
      }
      c.alive = false;
      c.ping();
    }
  }, opts.heartbeatMs);
  heartbeat.unref();

  try {
    await new Promise<void>((resolve, rejectListen) => {
      server.once('error', rejectListen);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (err) {
    // Nothing may keep the process alive after a failed start: stop the workers and timers.
    clearInterval(heartbeat);
    await pool.close();
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EADDRINUSE'
        ? `port ${opts.port} on ${opts.host} is already in use`
        : e.code === 'EACCES'
          ? `no permission to listen on port ${opts.port}`
          : e.message;
    throw new OfframpError('LISTEN_FAILED', `cannot listen: ${why}`, { cause: err });
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  log.info({ event: 'listening', port: addr.port, host: addr.address, bundles: [...registry.keys()], workers: opts.workers }, 'edge server ready');

  let stopped: Promise<void> | undefined;
  const stop = async (waitMs: number): Promise<void> => {
    draining = true;
    const until = performance.now() + waitMs;
    while (performance.now() < until && [...connections].some((c) => c.inFlight > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    scheduler.rejectAll(new OfframpError('SHUTTING_DOWN', 'the edge is shutting down', { retryAfterMs: 1000 }));
    for (const c of connections) c.close(1001, 'server shutting down');
    clearInterval(heartbeat);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
    await pool.close();
    ready = false;
    log.info({ event: 'stopped' }, 'edge server stopped');
  };
  return {
    address: { host: addr.address, port: addr.port },
    url: `${opts.tls ? 'wss' : 'ws'}://${host}:${addr.port}`,
    drain: () => (stopped ??= stop(opts.drainTimeoutMs)),
    close: () => (stopped ??= stop(0)),
  };
}
