/**
 * The device's WebSocket to the edge: Hello handshake, many requests in flight (bounded by the
 * server's limit), a deadline on every request, heartbeat pings (where the platform has them),
 * and reconnection with exponential backoff and jitter. `request()` never rejects and never
 * hangs: it resolves to the response or to the reason there is none.
 */
import { WebSocket as NodeWebSocket } from 'ws';
import { decodeFrame, encodeFrame } from '../protocol/frame.js';
import type { FrameLimits } from '../protocol/limits.js';
import type { BundleRef, Codec, HelloAck, InferRequest, InferResponse } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';

/** Why a request got no answer from the edge. */
export type FailureReason = 'timeout' | 'disconnected' | 'refused' | `server-error:${string}`;

export type RequestOutcome =
  | { ok: true; response: InferResponse; bytesUp: number; bytesDown: number; ms: number }
  | { ok: false; reason: FailureReason; message: string; retryAfterMs: number; bytesUp: number };

export interface TransportOptions {
  url: string;
  bundle: BundleRef;
  codecs: Codec[];
  bitWidths: number[];
  clientName?: string;
  clientVersion?: string;
  /**
   * Names this device to the edge (Hello.device_id, e.g. 128 random bits kept across restarts), so
   * request ids are scoped to the device and a retried id is answered from the edge's dedup window.
   * Absent: ids are scoped to the connection, and the edge keeps nothing for retries (this
   * transport never retries a request itself: a dropped one ends 'disconnected').
   */
  deviceId?: string;
  /** Bearer token (sent as `Authorization` in Node, as a `bearer.<token>` subprotocol everywhere). */
  token?: string;
  /** Ping interval, ms (Node only). Default 5000. */
  heartbeatMs?: number;
  /** First reconnect delay, ms, doubling up to `maxBackoffMs`, with full jitter. Default 100 / 5000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Called with each ping RTT (ms) for the link estimate. */
  onRtt?: (ms: number) => void;
  /** Called when the connection becomes usable (true) or stops being usable (false). */
  onState?: (ready: boolean) => void;
  limits?: FrameLimits;
}

interface Pending {
  resolve(o: RequestOutcome): void;
  timer: NodeJS.Timeout;
  sentAt: number;
  bytesUp: number;
}

/** How long close() waits for the edge's side of the closing handshake. */
const CLOSE_GRACE_MS = 1000;

export class EdgeTransport {
  private ws: NodeWebSocket | undefined;
  private ack: HelloAck | undefined;
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private pingSentAt = 0;
  private helloSentAt = 0;
  private nextId = 1;
  private readyWaiters: ((ready: boolean) => void)[] = [];
  /** Set when the edge refused the Hello: reconnecting would be refused again. */
  refusal: string | undefined;

  constructor(private readonly opts: TransportOptions) {
    this.connect();
  }

  /** Usable: connected and handshaken. */
  get ready(): boolean {
    return this.ack !== undefined && this.ws?.readyState === NodeWebSocket.OPEN;
  }

  /** The edge's terms, once handshaken. */
  get terms(): HelloAck | undefined {
    return this.ack;
  }

  private connect(): void {
    if (this.closed) return;
    const protocols = ['offramp.v1', ...(this.opts.token ? [`bearer.${this.opts.token}`] : [])];
    const ws = new NodeWebSocket(this.opts.url, protocols, this.opts.token ? { headers: { Authorization: `Bearer ${this.opts.token}` } } : {});
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    ws.on('open', () => {
      this.helloSentAt = performance.now();
      ws.send(encodeFrame({
        type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: this.opts.clientName ?? 'offramp-device', clientVersion: this.opts.clientVersion ?? '0',
        bundle: this.opts.bundle, codecs: this.opts.codecs, bitWidths: this.opts.bitWidths, authToken: '', deviceId: this.opts.deviceId ?? '',
      }));
    });
    ws.on('message', (data: Buffer) => this.onFrame(data));
    ws.on('pong', () => this.opts.onRtt?.(performance.now() - this.pingSentAt));
    ws.on('unexpected-response', (_req, res) => {
      if (res.statusCode === 401 || res.statusCode === 403) this.refusal = `HTTP ${res.statusCode}`;
    });
    ws.on('error', () => {});
    ws.on('close', () => this.onClose(ws));
  }

  private onFrame(data: Buffer): void {
    const r = decodeFrame(data, this.opts.limits);
    if (!r.ok) return; // a frame this version cannot read ends nothing; deadlines still hold
    const m = r.message;
    if (m.type === 'helloAck') {
      // Hello → HelloAck is one round trip: the first RTT sample, and the only one where the
      // platform cannot ping (browsers).
      this.opts.onRtt?.(performance.now() - this.helloSentAt);
      this.ack = m;
      this.attempt = 0;
      this.startHeartbeat();
      this.opts.onState?.(true);
      this.settleWaiters(true);
      return;
    }
    if (m.type === 'error' && m.id === '') {
      if (!this.ack) this.refusal = `${m.code}: ${m.message}`;
      return;
    }
    if (m.type !== 'inferResponse' && m.type !== 'error') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.type === 'inferResponse') p.resolve({ ok: true, response: m, bytesUp: p.bytesUp, bytesDown: data.length, ms: performance.now() - p.sentAt });
    else p.resolve({ ok: false, reason: `server-error:${m.code}`, message: m.message, retryAfterMs: m.retryAfterMs, bytesUp: p.bytesUp });
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (this.ws?.readyState !== NodeWebSocket.OPEN) return;
      this.pingSentAt = performance.now();
      this.ws.ping();
    }, this.opts.heartbeatMs ?? 5000);
    (this.heartbeat as { unref?: () => void }).unref?.(); // Node: do not keep the process alive
  }

  private onClose(ws: NodeWebSocket): void {
    if (ws !== this.ws) return;
    const wasReady = this.ack !== undefined;
    this.ack = undefined;
    clearInterval(this.heartbeat);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, reason: 'disconnected', message: 'the connection closed before the answer', retryAfterMs: 0, bytesUp: p.bytesUp });
      this.pending.delete(id);
    }
    if (wasReady) this.opts.onState?.(false);
    if (this.closed || this.refusal) {
      this.settleWaiters(false);
      return;
    }
    const base = this.opts.backoffMs ?? 100;
    const cap = this.opts.maxBackoffMs ?? 5000;
    const delay = Math.random() * Math.min(cap, base * 2 ** this.attempt++);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private settleWaiters(ready: boolean): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w(ready);
  }

  /** Resolves true once handshaken, false when refused, closed or after `timeoutMs`. */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    if (this.closed || this.refusal) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (ready: boolean): void => {
        clearTimeout(timer);
        resolve(ready);
      };
      this.readyWaiters.push(done);
    });
  }

  /**
   * Sends one request (its `id` is assigned here) and resolves when it is answered, fails, or
   * `deadlineMs` passes — whichever comes first.
   */
  request(req: Omit<InferRequest, 'id' | 'deadlineMs'>, deadlineMs: number): Promise<RequestOutcome> {
    return new Promise((resolve) => {
      if (!this.ready) {
        resolve({ ok: false, reason: this.refusal ? 'refused' : 'disconnected', message: this.refusal ?? 'not connected to the edge', retryAfterMs: 0, bytesUp: 0 });
        return;
      }
      if (this.pending.size >= this.ack!.limits.maxInFlight) {
        resolve({ ok: false, reason: 'server-error:TOO_MANY_IN_FLIGHT', message: 'the edge allows no more requests in flight', retryAfterMs: 0, bytesUp: 0 });
        return;
      }
      const id = String(this.nextId++);
      const frame = encodeFrame({ ...req, id, deadlineMs: Math.max(1, Math.ceil(deadlineMs)) }, this.opts.limits);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, reason: 'timeout', message: `no answer within ${deadlineMs} ms`, retryAfterMs: 0, bytesUp: frame.length });
      }, deadlineMs);
      this.pending.set(id, { resolve, timer, sentAt: performance.now(), bytesUp: frame.length });
      this.ws!.send(frame);
    });
  }

  /** Closes for good: pending requests end 'disconnected', timers stop, no handle stays open. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeat);
    this.settleWaiters(false);
    const ws = this.ws;
    if (!ws || ws.readyState === NodeWebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === NodeWebSocket.CONNECTING) return ws.terminate();
      ws.close(1000);
      // The closing handshake needs the edge to answer: over a dead link it never does, and ws
      // would wait 30 s. A device closing is not worth that: drop the socket after a second.
      const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      ws.once('close', () => clearTimeout(timer));
    });
  }
}
