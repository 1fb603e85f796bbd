/**
 * The slice of the `ws` client API the device transport uses, over the browser's WebSocket (the
 * browser build aliases `ws` here). Browsers cannot send pings or read an upgrade's HTTP status:
 * `ping()` does nothing (the link estimate then learns from requests only) and a refused upgrade
 * looks like any other close.
 */
type Handler = (...args: never[]) => void;

export class WebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  private readonly ws: globalThis.WebSocket;
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(url: string, protocols?: string[]) {
    this.ws = new globalThis.WebSocket(url, protocols);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => this.emit('open');
    this.ws.onmessage = (e: MessageEvent) => this.emit('message', e.data instanceof ArrayBuffer ? new Uint8Array(e.data) : new TextEncoder().encode(String(e.data)));
    this.ws.onerror = () => this.emit('error', new Error('WebSocket error'));
    this.ws.onclose = (e: CloseEvent) => this.emit('close', e.code, e.reason);
  }

  set binaryType(_: string) {
    // Always Uint8Array here.
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

export default WebSocket;
