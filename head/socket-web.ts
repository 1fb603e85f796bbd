/**
 * The device transport's socket in browsers: the platform WebSocket behind `ws`'s event API.
 * Browsers cannot send pings (`ping()` does nothing: the link estimate then learns from the
 * handshake and the requests) or read a refused upgrade's HTTP status (it looks like a close).
 */
import type { SocketFactory, SocketLike } from './socket.js';

type Handler = (...args: never[]) => void;

class BrowserSocket implements SocketLike {
  private readonly ws: WebSocket;
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(url: string, protocols: string[]) {
    this.ws = new globalThis.WebSocket(url, protocols);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => this.emit('open');
    this.ws.onmessage = (e: { data: unknown }) =>
      this.emit('message', e.data instanceof ArrayBuffer ? new Uint8Array(e.data) : new TextEncoder().encode(String(e.data)));
    this.ws.onerror = () => this.emit('error', new Error('WebSocket error'));
    this.ws.onclose = (e: { code: number; reason: string }) => this.emit('close', e.code, e.reason);
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  on(event: string, fn: Handler): this {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(fn);
    return this;
  }

  once(event: string, fn: Handler): this {
    const wrapped = ((...args: never[]) => {
      this.handlers.get(event)?.delete(wrapped);
      fn(...args);
    }) as Handler;
    return this.on(event, wrapped);
  }

  send(data: Uint8Array): void {
    // The DOM's send takes ArrayBuffer-backed views only (web/tsconfig.json); Node's types accept any.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    this.ws.send(data as Uint8Array<ArrayBuffer>);
  }

  ping(): void {
    // Browsers cannot ping.
  }

  close(code = 1000, reason?: string): void {
    this.ws.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason);
  }

  terminate(): void {
    this.ws.close();
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const fn of [...(this.handlers.get(event) ?? [])]) (fn as (...a: unknown[]) => void)(...args);
  }
}

/** Headers cannot be set from a browser: a token travels as a `bearer.<token>` subprotocol. */
export const webSocket: SocketFactory = (url, protocols) => new BrowserSocket(url, protocols);
