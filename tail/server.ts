/**
 * `createEdgeServer`: HTTP(S) + WebSocket on one port. Upgrades are checked (draining, Origin,
 * credentials) before any WebSocket frame; inference runs in a worker pool behind the batcher.
 *
 * The parts: options (`resolveOptions`), the inference side (inference.ts), HTTP routes
 * (http-routes.ts; demo mode's in demo-routes.ts, static files in static.ts), upgrades
 * (upgrade.ts), and the heartbeat, listening and stopping (lifecycle.ts).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { jpegJs } from '../bottleneck/jpeg.js';
import type { ServerContext } from './connection.js';
import { DedupWindow } from './dedup.js';
import { demoRoutes } from './demo-routes.js';
import { coreRoutes, requestPath, sendJson, type RouteContext } from './http-routes.js';
import { startInference } from './inference.js';
import { listen, listenFailure, newEdgeState, startHeartbeat, stopEdge } from './lifecycle.js';
import { resolveOptions, type EdgeServerOptions, type ResolvedOptions } from './options.js';
import { serveStatic } from './static.js';
import { acceptUpgrades, createWebSocketServer } from './upgrade.js';

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

/** Every HTTP request: demo mode's routes first, then the edge's own, then (demo mode) static files, else 404. */
function requestHandler(opts: ResolvedOptions, ctx: RouteContext): (req: IncomingMessage, res: ServerResponse) => void {
  const demo = opts.web ? demoRoutes(opts.web, ctx.state) : undefined;
  const core = coreRoutes(ctx);
  return (req, res) => {
    const path = requestPath(req);
    if (demo?.(req, res, path) || core(req, res, path)) return;
    if (opts.web) return serveStatic(res, opts.web, path);
    sendJson(res, 404, { error: 'not found' });
  };
}

/** Starts an edge server serving every bundle under `options.models`. */
export async function createEdgeServer(options: EdgeServerOptions): Promise<EdgeServer> {
  const opts = resolveOptions(options);
  const log = opts.logger;
  const { registry, limits, zstd, metrics, pool, scheduler } = await startInference(opts);
  const state = newEdgeState();
  const dedup = new DedupWindow(opts.dedupWindowMs, opts.dedupMaxBytes);
  const ctx: ServerContext = { registry, scheduler, dedup, zstd, jpeg: jpegJs, opts, limits, metrics, logger: log, isDraining: () => state.draining };

  const handle = requestHandler(opts, { registry, metrics, opts, state });
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handle) : createHttpServer(handle);
  const wss = createWebSocketServer(limits);
  acceptUpgrades(server, wss, ctx, state, log);
  const heartbeat = startHeartbeat(state.connections, opts.heartbeatMs);

  try {
    await listen(server, opts.port, opts.host);
  } catch (err) {
    // Nothing may keep the process alive after a failed start: stop the workers and timers.
    clearInterval(heartbeat);
    await pool.close();
    throw listenFailure(err, opts.port, opts.host);
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  log.info({ event: 'listening', port: addr.port, host: addr.address, bundles: [...registry.keys()], workers: opts.workers }, 'edge server ready');

  let stopped: Promise<void> | undefined;
  const running = { state, scheduler, heartbeat, wss, server, pool, log };
  return {
    address: { host: addr.address, port: addr.port },
    url: `${opts.tls ? 'wss' : 'ws'}://${host}:${addr.port}`,
    drain: () => (stopped ??= stopEdge(running, opts.drainTimeoutMs)),
    close: () => (stopped ??= stopEdge(running, 0)),
  };
}
