/**
 * An edge's life after its parts started: the heartbeat, listening (a failure as LISTEN_FAILED),
 * and stopping (drain: wait for requests in flight; then end the queue, close every socket, the
 * servers and the workers).
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { WebSocketServer } from 'ws';
import { OfframpError } from '../protocol/errors.js';
import type { EdgeConnection } from './connection.js';
import type { WorkerPool } from './pool.js';
import type { Scheduler } from './scheduler.js';

/** What the edge's parts share about its state: set by the lifecycle and the demo routes; read by the routes and the upgrade checks. */
export interface EdgeState {
  /** Set when a drain or close begins: readiness 503, upgrades refused. */
  draining: boolean;
  /** Demo mode's "edge away": upgrades refused. */
  edgeAway: boolean;
  /** Cleared once stopped. */
  ready: boolean;
  /** Open WebSocket connections. */
  connections: Set<EdgeConnection>;
}

/** A new edge's state: ready, nothing connected. */
export function newEdgeState(): EdgeState {
  return { draining: false, edgeAway: false, ready: true, connections: new Set() };
}

/** What a heartbeat pings: the part of `EdgeConnection` it uses. */
export type Pingable = Pick<EdgeConnection, 'alive' | 'ping' | 'terminate'>;

/** Every `ms`: terminates each connection that missed the last ping's pong, pings the others. Unref'd: it keeps no process alive. */
export function startHeartbeat(connections: Iterable<Pingable>, ms: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    for (const c of connections) {
      if (!c.alive) {
        c.terminate();
        continue;
      }
      c.alive = false;
      c.ping();
    }
  }, ms);
  timer.unref();
  return timer;
}

/** Listens on `port` and `host`; rejects with the server's error. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, host, () => resolve());
  });
}

/** A failed listen as LISTEN_FAILED, saying why in words. */
export function listenFailure(err: unknown, port: number, host: string): OfframpError {
  const e = err as NodeJS.ErrnoException;
  const why =
    e.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use` : e.code === 'EACCES' ? `no permission to listen on port ${port}` : e.message;
  return new OfframpError('LISTEN_FAILED', `cannot listen: ${why}`, { cause: err });
}

/** Resolves when no connection has a request in flight, or after `waitMs`. */
export async function waitForInFlight(connections: Iterable<Pick<EdgeConnection, 'inFlight'>>, waitMs: number): Promise<void> {
  const until = performance.now() + waitMs;
  while (performance.now() < until && [...connections].some((c) => c.inFlight > 0)) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The running parts a stop ends. */
export interface RunningEdge {
  state: EdgeState;
  scheduler: Scheduler;
  heartbeat: NodeJS.Timeout;
  wss: WebSocketServer;
  server: Server;
  pool: WorkerPool;
  log: Logger;
}

/** Drains for up to `waitMs` (0: stops now); queued requests end SHUTTING_DOWN, sockets close 1001, then the servers and workers stop. */
export async function stopEdge(edge: RunningEdge, waitMs: number): Promise<void> {
  const { state, scheduler, server, wss } = edge;
  state.draining = true;
  await waitForInFlight(state.connections, waitMs);
  scheduler.rejectAll(new OfframpError('SHUTTING_DOWN', 'the edge is shutting down', { retryAfterMs: 1000 }));
  for (const c of state.connections) c.close(1001, 'server shutting down');
  clearInterval(edge.heartbeat);
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
  await edge.pool.close();
  state.ready = false;
  edge.log.info({ event: 'stopped' }, 'edge server stopped');
}
