/**
 * The device's WebSocket to the edge: the Hello handshake (protocol v2: rate points, input
 * encodings, zstd, output encoding and the default deadline bound once), many requests in flight
 * (within the edge's credit window), a deadline on every request, heartbeat pings (where the
 * platform has them), and reconnection with exponential backoff and jitter. `request()` never
 * rejects and never hangs: it resolves to the answer or to the reason there is none.
 */
import { errorCodeFromWire } from '../protocol/errors.js';
import { decodeFrame, encodeFrame } from '../protocol/frame.js';
import { DEFAULT_FRAME_LIMITS, type FrameLimits } from '../protocol/limits.js';
import type { Answer, BundleRef, HelloAck, InputEncodingInit, RequestInit } from '../protocol/messages.js';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '../protocol/version.js';
import { CLOSED, CONNECTING, OPEN, type SocketFactory, type SocketLike } from './socket.js';

/** Why a request got no answer from the edge. */
export type FailureReason = 'timeout' | 'disconnected' | 'refused' | `server-error:${string}`;

export type RequestOutcome =
  | { ok: true; answer: Answer; bytesUp: number; bytesDown: number; ms: number }
  | { ok: false; reason: FailureReason; message: string; retryAfterMs: number; bytesUp: number; bytesDown?: number };

export interface TransportOptions {
  url: string;
  /** Opens the WebSocket (head/socket-node.ts in Node.js, head/socket-web.ts in browsers). */
  socket: SocketFactory;
  bundle: BundleRef;
  /** Manifest rate point indices the device will send split requests at. */
  ratePoints: number[];
  /** Encodings the device will send full-offload requests in (requests name them by index). */
  inputEncodings?: InputEncodingInit[];
  /** Offer zstd-wrapped payloads (and accept zstd-wrapped output tensors). */
  zstd?: boolean;
  /** OutputEncoding for output tensors. Default FP32 (0). */
  outputEncoding?: number;
  /** Default deadline the edge applies to requests without one, ms (0: the edge's). */
  deadlineMs?: number;
  clientName?: string;
  clientVersion?: string;
  /**
   * Names this device to the edge (Hello.device_id, 16..64 random bytes kept across restarts), so
   * request ids are scoped to the device and a retried id is answered from the edge's dedup
   * window. Ids then count up instead of being reused. Absent: ids are scoped to the connection
   * and reused once answered (small ids: one byte on the wire).
   */
  deviceId?: Uint8Array;
  /** Bearer token (sent as `Authorization` in Node, as a `bearer.<token>` subprotocol everywhere). */
  token?: string;
  /** Ping interval, ms (Node only). Default 5000. */
  heartbeatMs?: number;
  /**
   * Pings sent one after another right after each handshake (Node only); the least of their round
   * trips is the connection's first measured RTT. Default 3; 0 waits for the heartbeat.
   */
  probePings?: number;
  /** First reconnect delay, ms, doubling up to `maxBackoffMs`, with full jitter. Default 100 / 5000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Called with each round trip measured (ms) for the link estimate: the handshake's (`'handshake'`:
   * Hello → HelloAck, which includes the edge's handling of the Hello, so an upper bound), the
   * least of the probe's pings after it, then each heartbeat ping's (`'ping'`).
   */
  onRtt?: (ms: number, source: 'handshake' | 'ping') => void;
  /** Called when the connection becomes usable (true) or stops being usable (false). */
  onState?: (ready: boolean) => void;
  limits?: FrameLimits;
}

interface Pending {
  resolve(o: RequestOutcome): void;
  timer: ReturnType<typeof setTimeout>;
  sentAt: number;
  bytesUp: number;
}

/** How long close() waits for the edge's side of the closing handshake. */
const CLOSE_GRACE_MS = 1000;
/** WebSocket framing a client adds to a binary message: 2..14 header bytes + the 4-byte mask. */
export function wsClientOverhead(payload: number): number {
  return (payload < 126 ? 2 : payload < 65536 ? 4 : 10) + 4;
}
/** ... and a server's (unmasked). */
export function wsServerOverhead(payload: number): number {
  return payload < 126 ? 2 : payload < 65536 ? 4 : 10;
}

export class EdgeTransport {
  private ws: SocketLike | undefined;
  private ack: HelloAck | undefined;
  private readonly pending = new Map<number, Pending>();
  /**
   * Ids whose request timed out here but that the edge may still hold: not reused, and counted
   * against the credit window, until the edge ends them (its late answer is dropped) or the
   * connection closes.
   */
  private readonly expired = new Set<number>();
  private closed = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** When the ping awaiting its pong left (undefined: none awaits one; one ping at a time, so each pong answers it). */
  private pingSentAt: number | undefined;
  /** Probe pings still to come on this connection, and the least round trip of those back. */
  private probeLeft = 0;
  private probeBest = Infinity;
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
    return this.ack !== undefined && this.ws?.readyState === OPEN;
  }

  /** The edge's terms, once handshaken. */
  get terms(): HelloAck | undefined {
    return this.ack;
  }

  private connect(): void {
    if (this.closed) return;
    const protocols = [SUBPROTOCOL, ...(this.opts.token ? [`bearer.${this.opts.token}`] : [])];
    const ws = this.opts.socket(this.opts.url, protocols, this.opts.token ? { Authorization: `Bearer ${this.opts.token}` } : {});
    this.ws = ws;
    ws.on('open', () => {
      this.helloSentAt = performance.now();
      const o = this.opts;
      ws.send(
        encodeFrame({
          type: 'hello',
          hello: {
            protocolVersion: PROTOCOL_VERSION,
            clientName: o.clientName ?? 'offramp-device',
            clientVersion: o.clientVersion ?? '0',
            bundle: o.bundle,
            ratePoints: o.ratePoints,
            inputEncodings: o.inputEncodings ?? [],
            zstd: o.zstd ?? false,
            outputEncoding: o.outputEncoding ?? 0,
            deadlineMs: o.deadlineMs ?? 0,
            deviceId: o.deviceId ?? new Uint8Array(0),
          },
        }),
      );
    });
    ws.on('message', (data: Uint8Array) => this.onFrame(data));
    ws.on('pong', () => this.onPong());
    ws.on('unexpected-response', (_req, res) => {
      if (res.statusCode === 401 || res.statusCode === 403) this.refusal = `HTTP ${res.statusCode}`;
    });
    ws.on('error', () => {});
    ws.on('close', () => this.onClose(ws));
  }

  /** The limits frames from the edge are read with: answers may be as large as the edge's frame limit (tensor answers). */
  private readLimits(): FrameLimits | undefined {
    return this.ack
      ? {
          ...DEFAULT_FRAME_LIMITS,
          ...this.opts.limits,
          maxFrameBytes: Math.max(this.opts.limits?.maxFrameBytes ?? DEFAULT_FRAME_LIMITS.maxFrameBytes, this.ack.limits.maxFrameBytes),
        }
      : this.opts.limits;
  }

  private onFrame(data: Uint8Array): void {
    const r = decodeFrame(data, this.readLimits());
    if (!r.ok) {
      // A frame this version cannot read ends the request it names, if any; deadlines hold the rest.
      if (r.error.requestId !== undefined)
        this.settle(r.error.requestId, {
          ok: false,
          reason: 'server-error:BAD_REQUEST',
          message: `unreadable answer: ${r.error.message}`,
          retryAfterMs: 0,
          bytesUp: 0,
        });
      return;
    }
    const m = r.message;
    if (m.type === 'helloAck') {
      // Hello → HelloAck is one round trip: the first RTT sample, and the only one where the
      // platform cannot ping (browsers). It includes the edge's handling of the Hello (and, on a
      // device starting up, its own busy event loop), so pings measure the link at once.
      this.opts.onRtt?.(performance.now() - this.helloSentAt, 'handshake');
      this.ack = m.helloAck;
      this.attempt = 0;
      this.startHeartbeat();
      this.pingSentAt = undefined;
      this.probeLeft = this.opts.probePings ?? 3;
      this.probeBest = Infinity;
      if (this.probeLeft > 0) this.ping();
      this.opts.onState?.(true);
      this.settleWaiters(true);
      return;
    }
    if (m.type === 'error' && m.error.id === 0) {
      if (!this.ack) this.refusal = `${errorCodeFromWire(m.error.code) ?? 'INTERNAL'}: ${m.error.message}`;
      return;
    }
    const endedId = m.type === 'answer' ? m.answer.id : m.type === 'error' ? m.error.id : 0;
    if (this.expired.delete(endedId)) return;
    if (m.type === 'answer') {
      const p = this.pending.get(m.answer.id);
      if (p)
        this.settle(m.answer.id, {
          ok: true,
          answer: m.answer,
          bytesUp: p.bytesUp,
          bytesDown: data.length + wsServerOverhead(data.length),
          ms: performance.now() - p.sentAt,
        });
    } else if (m.type === 'error') {
      const e = m.error;
      this.settle(e.id, {
        ok: false,
        reason: `server-error:${errorCodeFromWire(e.code) ?? 'INTERNAL'}`,
        message: e.message,
        retryAfterMs: e.retryAfterMs,
        bytesUp: 0,
        bytesDown: data.length + wsServerOverhead(data.length),
      });
    }
  }

  private settle(id: number, o: RequestOutcome): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(o.ok ? o : { ...o, bytesUp: p.bytesUp });
  }

  /** Pings unless a ping still awaits its pong: a pong then always answers the ping it is timed against. */
  private ping(): void {
    if (this.ws?.readyState !== OPEN || this.pingSentAt !== undefined) return;
    this.pingSentAt = performance.now();
    this.ws.ping();
  }

  private onPong(): void {
    if (this.pingSentAt === undefined) return;
    const ms = performance.now() - this.pingSentAt;
    this.pingSentAt = undefined;
    if (this.probeLeft > 0) {
      this.probeBest = Math.min(this.probeBest, ms);
      if (--this.probeLeft > 0) return this.ping();
      this.opts.onRtt?.(this.probeBest, 'ping');
      return;
    }
    this.opts.onRtt?.(ms, 'ping');
  }

  /**
   * Pings every `heartbeatMs` (a tick while a ping still awaits its pong — a probe on a link slower
   * than the interval, a browser that cannot ping — sends nothing).
   */
  private startHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.ping(), this.opts.heartbeatMs ?? 5000);
    (this.heartbeat as { unref?: () => void }).unref?.(); // Node: do not keep the process alive
  }

  private onClose(ws: SocketLike): void {
    if (ws !== this.ws) return;
    const wasReady = this.ack !== undefined;
    this.ack = undefined;
    clearInterval(this.heartbeat);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, reason: 'disconnected', message: 'the connection closed before the answer', retryAfterMs: 0, bytesUp: p.bytesUp });
      this.pending.delete(id);
    }
    this.expired.clear();
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

  /** The next request id: the smallest free one (ids scoped to the connection), or a count with a device id. */
  private allocateId(): number {
    if (this.opts.deviceId) {
      const id = this.nextId;
      this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
      return id;
    }
    let id = 1;
    while (this.pending.has(id) || this.expired.has(id)) id++;
    return id;
  }

  /**
   * Sends one request (its `id` is assigned here) and resolves when it is answered, fails, or
   * `deadlineMs` passes, whichever comes first. The deadline travels only when it differs from
   * the connection's default.
   */
  request(req: Omit<RequestInit, 'id' | 'deadlineMs'>, deadlineMs: number): Promise<RequestOutcome> {
    return new Promise((resolve) => {
      if (!this.ready) {
        resolve({
          ok: false,
          reason: this.refusal ? 'refused' : 'disconnected',
          message: this.refusal ?? 'not connected to the edge',
          retryAfterMs: 0,
          bytesUp: 0,
        });
        return;
      }
      if (this.pending.size + this.expired.size >= this.ack!.limits.maxInFlight) {
        resolve({ ok: false, reason: 'server-error:TOO_MANY_IN_FLIGHT', message: 'the edge allows no more requests in flight', retryAfterMs: 0, bytesUp: 0 });
        return;
      }
      const id = this.allocateId();
      const ms = Math.max(1, Math.ceil(deadlineMs));
      const frame = encodeFrame({ type: 'request', request: { ...req, id, deadlineMs: ms === this.ack!.limits.deadlineMs ? 0 : ms } });
      const bytesUp = frame.length + wsClientOverhead(frame.length);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.expired.add(id);
        resolve({ ok: false, reason: 'timeout', message: `no answer within ${deadlineMs} ms`, retryAfterMs: 0, bytesUp });
      }, deadlineMs);
      this.pending.set(id, { resolve, timer, sentAt: performance.now(), bytesUp });
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
    if (!ws || ws.readyState === CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === CONNECTING) return ws.terminate();
      ws.close(1000);
      // The closing handshake needs the edge to answer: over a dead link it never does, and ws
      // would wait 30 s. A device closing is not worth that: drop the socket after a second.
      const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      ws.once('close', () => clearTimeout(timer));
    });
  }
}
