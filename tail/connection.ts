/**
 * One device connection: Hello handshake, then requests. Every request id that was read ends in
 * exactly one InferResponse or one Error; a frame that cannot be read at all gets an Error with
 * an empty id and the connection stays usable.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { decodeFeatures } from '../bottleneck/codec.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import { OfframpError, isOfframpError, isWireErrorCode } from '../protocol/errors.js';
import { decodeFrame, encodeFrame } from '../protocol/frame.js';
import { normalizeInto } from '../protocol/normalize.js';
import { argmax, softmax } from '../protocol/scores.js';
import type { FrameLimits } from '../protocol/limits.js';
import type { Codec, ErrorMessage, Hello, InferRequest, Message } from '../protocol/messages.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import type { DedupWindow, Outcome } from './dedup.js';
import type { Metrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { checkFeatures, checkRequest, graphKey, resolveBundle, type ServedBundle } from './registry.js';
import type { QueuedRequest, Scheduler } from './scheduler.js';

/** What every connection shares. */
export interface ServerContext {
  registry: Map<string, ServedBundle>;
  scheduler: Scheduler;
  dedup: DedupWindow;
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
  /** Hello.device_id: '' scopes request ids to this connection, anything else to the device. */
  private deviceId = '';
  /** Requests accepted and not yet answered → what to do with each if the connection closes. */
  private readonly inflight = new Map<string, () => void>();
  /** The rate limit's token bucket, and frames refused in the current second. */
  private tokens: number;
  private refilledAt = performance.now();
  private refusedSince = performance.now();
  private refused = 0;
  private closed = false;
  private readonly helloTimer: NodeJS.Timeout;
  alive = true;

  constructor(private readonly ws: WebSocket, private readonly ctx: ServerContext, private readonly log: Logger) {
    this.tokens = ctx.opts.rateBurst;
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
    if (!this.withinRate()) {
      const id = m.type === 'inferRequest' ? m.id : '';
      this.countOutcome('RATE_LIMITED');
      this.sendError(id, new OfframpError('RATE_LIMITED', `more than ${this.ctx.opts.rateLimitPerSecond} frames/s on this connection`, { retryAfterMs: Math.ceil(1000 / this.ctx.opts.rateLimitPerSecond) }));
      return;
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
    this.deviceId = h.deviceId;
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
    if (this.inflight.has(r.id)) return this.fail(r.id, new OfframpError('DUPLICATE_ID', `request id ${JSON.stringify(r.id)} is already in flight`));
    if (this.ctx.isDraining()) return this.fail(r.id, new OfframpError('SHUTTING_DOWN', 'this edge is draining', { retryAfterMs: 1000 }));
    if (this.inflight.size >= this.ctx.opts.maxInFlight) {
      return this.fail(r.id, new OfframpError('TOO_MANY_IN_FLIGHT', `${this.inflight.size} requests in flight; the limit is ${this.ctx.opts.maxInFlight}`));
    }
    const key = graphKey(s.key, r.graph);
    let features: Float32Array;
    try {
      checkRequest(s, r, this.codecs);
      // Shed before the payload is decoded: under overload, refusing must stay cheap.
      const refused = this.ctx.scheduler.full(key);
      if (refused) throw refused;
      features = decodeFeatures(r.raw, r.encoding, { zstd: this.ctx.zstd, limits: this.ctx.limits });
      checkFeatures(s, r, features);
      if (r.graph === 'full') normalizeInto(features, s.bundle.manifest.input, features);
    } catch (err) {
      return this.fail(r.id, asOfframpError(err));
    }
    const decodeUs = Math.round((performance.now() - t0) * 1000);
    // This connection's end of the request: exactly once, and only while it is still in flight here.
    const deliver = (o: Outcome): void => {
      if (!this.inflight.delete(r.id)) return;
      this.countOutcome(o.type === 'error' ? o.code : 'ok');
      this.send({ ...o, id: r.id });
    };
    // With a device id, the request may be a retry of one that ran (or runs) on another connection.
    const dedupKey = this.deviceId ? `${s.key}\0${this.deviceId}\0${r.id}` : undefined;
    let end: (o: Outcome, executed: boolean) => void = deliver;
    if (dedupKey) {
      const digest = createHash('sha256').update(`${r.graph}/${r.encoding.bits}/${r.encoding.codec}/`).update(r.raw).digest('base64');
      const a = this.ctx.dedup.admit(dedupKey, digest, deliver);
      if (a.kind === 'conflict') return this.fail(r.id, new OfframpError('DUPLICATE_ID', `request id ${JSON.stringify(r.id)} was used by this device for a different payload`));
      if (a.kind === 'done') {
        this.countOutcome('dedup');
        return this.send({ ...a.outcome, id: r.id });
      }
      // Closing this connection stops the delivery, not the execution: a retry picks it up.
      this.inflight.set(r.id, () => this.ctx.dedup.detach(dedupKey, deliver));
      if (a.kind === 'attached') return;
      end = (o, executed) => this.ctx.dedup.finish(dedupKey, o, executed);
    }
    const now = performance.now();
    const q: QueuedRequest = {
      features,
      enqueuedAt: now,
      deadlineAt: now + (r.deadlineMs || this.ctx.opts.defaultDeadlineMs),
      cancelled: false,
      resolve: ({ logits, queueUs, computeUs, batchSize }) => {
        const scores = Array.from(softmax(logits));
        this.ctx.metrics.latency.observe({ stage: 'queue' }, queueUs);
        this.ctx.metrics.latency.observe({ stage: 'decode' }, decodeUs);
        this.ctx.metrics.latency.observe({ stage: 'compute' }, computeUs);
        this.ctx.metrics.latency.observe({ stage: 'total' }, Math.round((performance.now() - t0) * 1000));
        // Per-request lines only at debug level, so logging never dominates serving.
        this.log.debug({ event: 'request', id: r.id, graph: r.graph, bits: r.encoding.bits, bytes: r.raw.length, queueUs, computeUs, batchSize }, 'answered');
        end({ type: 'inferResponse', id: r.id, label: argmax(scores), scores, topLabels: [], timings: { queueUs, decodeUs, computeUs }, batchSize }, true);
      },
      reject: (e) => end(this.errorFrame(r.id, e), false),
    };
    if (!dedupKey) this.inflight.set(r.id, () => { q.cancelled = true; });
    try {
      this.ctx.scheduler.enqueue(key, q);
    } catch (err) {
      q.reject(asOfframpError(err));
    }
  }

  /** Withdraws a token from the connection's bucket; false (and maybe a 1008 close) when empty. */
  private withinRate(): boolean {
    const { rateLimitPerSecond: rate, rateBurst: burst } = this.ctx.opts;
    if (rate <= 0) return true;
    const now = performance.now();
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) * rate) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    if (now - this.refusedSince >= 1000) {
      this.refusedSince = now;
      this.refused = 0;
    }
    // Refused more frames within a second than the rate allows: sending at twice the limit or
    // more, and not slowing down. Such a peer is closed.
    if (++this.refused > rate) {
      this.log.warn({ event: 'rate-abuse', refused: this.refused }, 'closing a connection that keeps sending over its rate');
      this.ws.close(1008, 'rate limit exceeded');
    }
    return false;
  }

  /** Ends request `id`, which was never accepted, with an error. */
  private fail(id: string, e: OfframpError): void {
    this.countOutcome(e.code);
    this.sendError(id, e);
  }

  private countOutcome(outcome: string): void {
    this.ctx.metrics.requests.inc({ outcome });
  }

  private errorFrame(id: string, e: OfframpError): ErrorMessage {
    const code = isWireErrorCode(e.code) ? e.code : 'INTERNAL';
    return { type: 'error', id, code, message: e.message.slice(0, this.ctx.limits.maxTextLength), retryAfterMs: e.retryAfterMs };
  }

  private sendError(id: string, e: OfframpError): void {
    this.send(this.errorFrame(id, e));
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
    const ending = [...this.inflight.values()];
    this.inflight.clear();
    for (const stop of ending) stop();
    this.log.info({ event: 'close', code }, 'device disconnected');
  }
}

function asOfframpError(err: unknown): OfframpError {
  return isOfframpError(err) ? err : new OfframpError('INTERNAL', String(err));
}
