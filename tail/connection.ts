/**
 * One device connection: Hello handshake, then requests. Every request id that was read ends in
 * exactly one InferResponse or one Error; a frame that cannot be read at all gets an Error with
 * an empty id and the connection stays usable.
 */
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { decodeFeatures } from '../bottleneck/codec.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import { OfframpError, isOfframpError, isWireErrorCode } from '../protocol/errors.js';
import { decodeFrame, encodeFrame } from '../protocol/frame.js';
import { normalizeInto } from '../protocol/normalize.js';
import { argmax, softmax } from '../protocol/scores.js';
import type { FrameLimits } from '../protocol/limits.js';
import type { Codec, Hello, InferRequest, Message } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import type { Metrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { checkRequest, graphKey, resolveBundle, type ServedBundle } from './registry.js';
import type { QueuedRequest, Scheduler } from './scheduler.js';

/** What every connection shares. */
export interface ServerContext {
  registry: Map<string, ServedBundle>;
  scheduler: Scheduler;
  zstd: ZstdBackend;
  opts: ResolvedOptions;
  limits: FrameLimits;
  metrics: Metrics;
  logger: Logger;
  isDraining(): boolean;
}

const CODECS: Codec[] = ['none', 'zstd'];

export class EdgeConnection {
  private bundle: ServedBundle | undefined;
  private codecs: Codec[] = [];
  private readonly inflight = new Map<string, QueuedRequest>();
  private closed = false;
  private readonly helloTimer: NodeJS.Timeout;
  alive = true;

  constructor(private readonly ws: WebSocket, private readonly ctx: ServerContext, private readonly log: Logger) {
    ws.on('message', (data: Buffer, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code) => this.onClose(code));
    ws.on('pong', () => {
      this.alive = true;
    });
    this.helloTimer = setTimeout(() => {
      if (!this.bundle) this.refuse(new OfframpError('BAD_REQUEST', `no Hello within ${ctx.opts.helloTimeoutMs} ms`));
    }, ctx.opts.helloTimeoutMs);
  }

  /** Requests accepted and not yet answered. */
  get inFlight(): number {
    return this.inflight.size;
  }

  /** Closes with `code` (the drain's last step). */
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  /** Heartbeat: a ping now; `alive` turns true again on the pong. */
  ping(): void {
    this.ws.ping();
  }

  /** Drops a peer that missed its pong. */
  terminate(): void {
    this.log.info({ event: 'heartbeat-timeout' }, 'terminating a peer that missed its pong');
    this.ws.terminate();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.ctx.metrics.bytes.inc({ direction: 'in' }, data.length);
    if (!isBinary) {
      this.sendError('', new OfframpError('BAD_REQUEST', 'text frames are not part of the protocol; send binary frames'));
      return;
    }
    const r = decodeFrame(data, this.ctx.limits);
    if (!r.ok) {
      if (!this.bundle) return this.refuse(r.error);
      this.countOutcome(r.error.code);
      return this.sendError(r.error.requestId ?? '', r.error);
    }
    const m = r.message;
    if (!this.bundle) {
      if (m.type !== 'hello') return this.refuse(new OfframpError('BAD_REQUEST', `expected Hello, got ${m.type}`));
      return this.onHello(m);
    }
    if (m.type !== 'inferRequest') {
      this.sendError('', new OfframpError('BAD_REQUEST', `a device may send only inferRequest after the Hello, got ${m.type}`));
      return;
    }
    this.onRequest(m, this.bundle);
  }

  private onHello(h: Hello): void {
    clearTimeout(this.helloTimer);
    if (h.protocolVersion !== PROTOCOL_VERSION) {
      return this.refuse(new OfframpError('UNSUPPORTED_VERSION', `protocol version ${h.protocolVersion} is not spoken here (${PROTOCOL_VERSION})`));
    }
    let s: ServedBundle;
    try {
      s = resolveBundle(this.ctx.registry, h.bundle);
    } catch (err) {
      return this.refuse(err as OfframpError);
    }
    this.bundle = s;
    this.codecs = (h.codecs.length ? h.codecs : (['none'] as Codec[])).filter((c) => CODECS.includes(c));
    const bits = h.bitWidths.length ? h.bitWidths.filter((b) => s.bits.tail.includes(b)) : s.bits.tail;
    this.log.info({ event: 'hello', client: `${h.clientName}/${h.clientVersion}`, bundle: s.key }, 'device connected');
    this.send({
      type: 'helloAck',
      protocolVersion: PROTOCOL_VERSION,
      bundle: h.bundle,
      codecs: this.codecs,
      bitWidths: bits,
      limits: { maxFrameBytes: this.ctx.limits.maxFrameBytes, maxInFlight: this.ctx.opts.maxInFlight, maxBatch: this.ctx.opts.maxBatch },
      serverId: this.ctx.opts.serverId,
    });
  }

  private onRequest(r: InferRequest, s: ServedBundle): void {
    const t0 = performance.now();
    if (this.inflight.has(r.id)) return this.fail(r.id, new OfframpError('DUPLICATE_ID', `request id ${JSON.stringify(r.id)} is already in flight`), false);
    if (this.ctx.isDraining()) return this.fail(r.id, new OfframpError('SHUTTING_DOWN', 'this edge is draining', { retryAfterMs: 1000 }), false);
    if (this.inflight.size >= this.ctx.opts.maxInFlight) {
      return this.fail(r.id, new OfframpError('TOO_MANY_IN_FLIGHT', `${this.inflight.size} requests in flight; the limit is ${this.ctx.opts.maxInFlight}`), false);
    }
    let features: Float32Array;
    try {
      checkRequest(s, r, this.codecs);
      features = decodeFeatures(r.raw, r.encoding, { zstd: this.ctx.zstd, limits: this.ctx.limits });
      if (r.graph === 'full') normalizeInto(features, s.bundle.manifest.input, features);
    } catch (err) {
      return this.fail(r.id, asOfframpError(err), false);
    }
    const decodeUs = Math.round((performance.now() - t0) * 1000);
    const now = performance.now();
    const q: QueuedRequest = {
      features,
      enqueuedAt: now,
      deadlineAt: now + (r.deadlineMs || this.ctx.opts.defaultDeadlineMs),
      cancelled: false,
      resolve: ({ logits, queueUs, computeUs, batchSize }) => {
        if (!this.inflight.delete(r.id)) return;
        const scores = Array.from(softmax(logits));
        this.ctx.metrics.latency.observe({ stage: 'queue' }, queueUs);
        this.ctx.metrics.latency.observe({ stage: 'decode' }, decodeUs);
        this.ctx.metrics.latency.observe({ stage: 'compute' }, computeUs);
        this.ctx.metrics.latency.observe({ stage: 'total' }, Math.round((performance.now() - t0) * 1000));
        this.countOutcome('ok');
        // Per-request lines only at debug level, so logging never dominates serving.
        this.log.debug({ event: 'request', id: r.id, graph: r.graph, bits: r.encoding.bits, bytes: r.raw.length, queueUs, computeUs, batchSize }, 'answered');
        this.send({ type: 'inferResponse', id: r.id, label: argmax(scores), scores, topLabels: [], timings: { queueUs, decodeUs, computeUs }, batchSize });
      },
      reject: (e) => this.fail(r.id, e, true),
    };
    this.inflight.set(r.id, q);
    try {
      this.ctx.scheduler.enqueue(graphKey(s.key, r.graph), q);
    } catch (err) {
      this.fail(r.id, asOfframpError(err), true);
    }
  }

  /** Ends request `id` with an error (once: a request that already ended is left alone). */
  private fail(id: string, e: OfframpError, tracked: boolean): void {
    if (tracked && !this.inflight.delete(id)) return;
    this.countOutcome(e.code);
    this.sendError(id, e);
  }

  private countOutcome(outcome: string): void {
    this.ctx.metrics.requests.inc({ outcome });
  }

  private sendError(id: string, e: OfframpError): void {
    const code = isWireErrorCode(e.code) ? e.code : 'INTERNAL';
    this.send({ type: 'error', id, code, message: e.message.slice(0, this.ctx.limits.maxTextLength), retryAfterMs: e.retryAfterMs });
  }

  /** Sends the Error that refuses the connection, then closes it cleanly. */
  private refuse(e: OfframpError): void {
    clearTimeout(this.helloTimer);
    this.log.info({ event: 'refused', code: e.code, reason: e.message }, 'connection refused');
    this.sendError('', e);
    this.ws.close(1008, e.code);
  }

  private send(m: Message): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.ctx.opts.maxBufferedBytes) {
      // A peer that does not read: stop buffering for it.
      this.log.warn({ event: 'slow-reader', buffered: this.ws.bufferedAmount }, 'closing a connection that does not read');
      this.ws.close(1008, 'too much unread data');
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(m, this.ctx.limits);
    } catch (err) {
      // A response that fails validation (a model producing NaN, say) must still end its request.
      this.log.error({ event: 'encode-failed', type: m.type, err: (err as Error).message }, 'cannot encode a frame');
      if (m.type === 'inferResponse') this.sendError(m.id, new OfframpError('INTERNAL', `the answer could not be encoded: ${(err as Error).message}`));
      return;
    }
    this.ctx.metrics.bytes.inc({ direction: 'out' }, bytes.length);
    this.ws.send(bytes);
  }

  private onClose(code: number): void {
    this.closed = true;
    clearTimeout(this.helloTimer);
    for (const q of this.inflight.values()) q.cancelled = true;
    this.inflight.clear();
    this.log.info({ event: 'close', code }, 'device disconnected');
  }
}

function asOfframpError(err: unknown): OfframpError {
  return isOfframpError(err) ? err : new OfframpError('INTERNAL', String(err));
}
