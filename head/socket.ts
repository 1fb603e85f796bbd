/**
 * The WebSocket the device transport needs: the slice of the `ws` client API it uses. Node.js
 * gets `ws` itself (socket-node.ts); browsers get an adapter over the platform's WebSocket
 * (socket-web.ts), which cannot ping or read a refused upgrade's HTTP status.
 */

/** readyState values (the WebSocket standard's). */
export const OPEN = 1;
export const CLOSED = 3;
export const CONNECTING = 0;

/** A client WebSocket with `ws`'s event API. */
export interface SocketLike {
  readonly readyState: number;
  on(event: 'open', fn: () => void): unknown;
  on(event: 'message', fn: (data: Uint8Array) => void): unknown;
  on(event: 'pong', fn: () => void): unknown;
  on(event: 'unexpected-response', fn: (req: unknown, res: { statusCode?: number }) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'close', fn: (code: number) => void): unknown;
  once(event: 'close', fn: () => void): unknown;
  send(data: Uint8Array): void;
  ping(): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** Opens a socket to `url` offering `protocols`; `headers` only where the platform can send them. */
export type SocketFactory = (url: string, protocols: string[], headers: Record<string, string>) => SocketLike;
