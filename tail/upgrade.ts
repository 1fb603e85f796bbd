/**
 * WebSocket upgrades: each is checked before any frame (draining or taken away: 503; a foreign
 * Origin: 403; a bad token: 401), then becomes an `EdgeConnection`.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FrameLimits } from '../protocol/limits.js';
import { bearerToken, checkToken, KNOWN_SUBPROTOCOLS } from './auth.js';
import { EdgeConnection, type ServerContext } from './connection.js';
import type { EdgeState } from './lifecycle.js';
import type { ResolvedOptions } from './options.js';

/** What to do with an upgrade: refuse it with an HTTP status, or accept it. */
export type UpgradeVerdict =
  | { refuse: 503 | 403 | 401; text: string; why?: string }
  /** `authenticated`: the upgrade carried a valid token, or none is needed; else the Hello must carry one. */
  | { refuse?: undefined; authenticated: boolean };

/** The checks an upgrade goes through, in order (pure). */
export function checkUpgrade(
  req: IncomingMessage,
  opts: Pick<ResolvedOptions, 'auth' | 'origins'>,
  state: Pick<EdgeState, 'draining' | 'edgeAway'>,
): UpgradeVerdict {
  if (state.draining || state.edgeAway) return { refuse: 503, text: 'Service Unavailable' };
  const origin = req.headers.origin;
  if (opts.origins && origin !== undefined && !opts.origins.includes(origin)) return { refuse: 403, text: 'Forbidden' };
  // With auth on, an upgrade that carries a token must carry a good one; one without may still
  // authenticate in its Hello (auth_token).
  const token = bearerToken(req);
  if (opts.auth && token !== undefined) {
    const why = checkToken(opts.auth, token);
    if (why) return { refuse: 401, text: 'Unauthorized', why };
  }
  return { authenticated: !opts.auth || token !== undefined };
}

/** The WebSocket server upgrades are handed to (no server of its own). */
export function createWebSocketServer(limits: FrameLimits): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    // Frames up to twice the limit are read so that their request ends with TOO_LARGE; only
    // beyond that does the socket close (1009).
    maxPayload: 2 * limits.maxFrameBytes,
    perMessageDeflate: false,
    handleProtocols: (protocols) => KNOWN_SUBPROTOCOLS.find((p) => protocols.has(p)) ?? false,
  });
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
  socket.destroy();
}

/** Checks every upgrade `server` gets; accepted ones join `state.connections` until they close. */
export function acceptUpgrades(server: Server, wss: WebSocketServer, ctx: ServerContext, state: EdgeState, log: Logger): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const verdict = checkUpgrade(req, ctx.opts, state);
    if (verdict.refuse !== undefined) {
      if (verdict.why) log.info({ event: 'unauthenticated', why: verdict.why, remote: req.socket.remoteAddress }, 'upgrade refused');
      return reject(socket, verdict.refuse, verdict.text);
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const conn = new EdgeConnection(ws, ctx, log.child({ remote: req.socket.remoteAddress }), verdict.authenticated, socket);
      state.connections.add(conn);
      ws.on('close', () => state.connections.delete(conn));
      ws.on('error', (err) => log.debug({ event: 'socket-error', err: err.message }, 'socket error'));
    });
  });
}
