/**
 * One device connection: the Hello handshake binds the bundle, the rate points, the input
 * encodings, zstd, the output encoding and the default deadline; then requests. Every request id
 * that was read ends in exactly one Answer or one Error (docs/PROTOCOL.md, "Outcomes").
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { decodeFeatures } from '../bottleneck/features.js';
import { decodeInput, type InputEncoding } from '../bottleneck/input.js';
import type { JpegBackend } from '../bottleneck/jpeg.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import { OfframpError, errorCodeFromWire, errorCodeToWire, isOfframpError, isWireErrorCode } from '../protocol/errors.js';
import { decodeFrame, encodeFrame, peekHelloVersion, peekRequestId } from '../protocol/frame.js';
import type { FrameLimits } from '../protocol/limits.js';
import { pb, type ErrorInit, type Hello, type HelloAckInit, type MessageInit, type Request } from '../protocol/messages.js';
import { normalizeInto } from '../protocol/normalize.js';
import { PROTOCOL_VERSION, SUPPORTED_VERSIONS } from '../protocol/version.js';
import { buildAnswer, type OutputTerms } from './answer.js';
import { checkToken } from './auth.js';
import type { DedupWindow, Outcome } from './dedup.js';
import type { Metrics } from './metrics.js';
import type { ResolvedOptions } from './options.js';
import { inputEncodingFromWire, maxInputPayload, resolveBundle, type ServedBundle } from './registry.js';
import type { QueuedRequest, Scheduler } from './scheduler.js';

/** What every connection shares. */
export interface ServerContext {
  registry: Map<string, ServedBundle>;
  scheduler: Scheduler;
  dedup: DedupWindow;
  zstd: ZstdBackend;
  jpeg: JpegBackend | undefined;
  opts: ResolvedOptions;
  limits: FrameLimits;
  metrics: Metrics;
  logger: Logger;
  isDraining(): boolean;
}

/** The first byte of a Frame holding a Request (field 3, length-delimited). */
const REQUEST_TAG = 0x1a;

/** How a request's run ends: its outcome, and whether the model ran. */
type End = (o: Outcome, executed: boolean) => void;

/** What the handshake bound. */
interface Terms {
  s: ServedBundle;
  ratePoints: Set<number>;
  /** Hello.input_encodings index → the accepted encoding. */
  inputs: Map<number, InputEncoding>;
  zstd: boolean;
  output: OutputTerms;
  deadlineMs: number;
  /** Hex of Hello.device_id; '' scopes request ids to this connection. */
  deviceId: string;
}

export class EdgeConnection {
  private terms: Terms | undefined;
  /** Requests accepted and not yet answered → how to stop delivering each. */
  private readonly inflight = new Map<number, () => void>();
  /** The rate limit's token bucket, and frames refused in the current second. */
  private tokens: number;
  private refilledAt = performance.now();
  private refusedSince = performance.now();
  private refused = 0;
  private closed = false;
  /** A frame read from the socket is being handled: a reply sent now waits for the others of its read (corkForRead). */
  private reading = false;
  private readonly helloTimer: NodeJS.Timeout;
  alive = true;

  /**
   * `upgradeAuthenticated`: the upgrade request carried a valid token (or none was needed).
   * `socket`: the connection's TCP socket, to send the replies to frames that arrived together in
   * one write.
   */
  constructor(
    private readonly ws: WebSocket,
    private readonly ctx: ServerContext,
    private readonly log: Logger,
    private readonly upgradeAuthenticated: boolean,
    private readonly socket?: Corkable,
  ) {
    this.tokens = ctx.opts.rateBurst;
    ws.on('message', (data: Buffer, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code) => this.onClose(code));
    ws.on('pong', () => {
      this.alive = true;
    });
    this.helloTimer = setTimeout(() => {
      if (!this.terms) this.refuse(new OfframpError('BAD_REQUEST', `no Hello within ${ctx.opts.helloTimeoutMs} ms`));
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
    this.reading = true;
    try {
      this.onFrame(data, isBinary);
    } finally {
      this.reading = false;
    }
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    this.ctx.metrics.bytes.add('in', data.length);
    if (!this.terms) return this.beforeHello(data, isBinary);
    if (!isBinary) return this.sendError(0, new OfframpError('BAD_REQUEST', 'text frames are not part of the protocol; send binary frames'));
    if (!this.withinRate()) {
      const id = peekRequestId(data) ?? 0;
      return this.endWithError(
        id,
        new OfframpError('RATE_LIMITED', `more than ${this.ctx.opts.rateLimitPerSecond} frames/s on this connection`, { retryAfterMs: this.retryAfterMs() }),
      );
    }
    // The direction first: after the Hello a device sends only requests.
    if (data[0] !== REQUEST_TAG) {
      return this.sendError(0, new OfframpError('BAD_REQUEST', 'after the Hello a device sends only Request frames'));
    }
    const r = decodeFrame(data, this.ctx.limits);
    if (!r.ok) return this.endWithError(r.error.requestId ?? 0, r.error);
    if (r.message.type !== 'request') return this.sendError(0, new OfframpError('BAD_REQUEST', 'after the Hello a device sends only Request frames'));
    this.onRequest(r.message.request, this.terms);
  }

  private beforeHello(data: Buffer, isBinary: boolean): void {
    if (!isBinary) return this.refuse(new OfframpError('BAD_REQUEST', 'text frames are not part of the protocol; send a binary Hello'));
    const version = peekHelloVersion(data);
    if (version === undefined) return this.refuse(new OfframpError('BAD_REQUEST', 'the first frame must be a Hello'));
    // Checked before decoding: another version's Hello may not decode under this schema.
    if (version !== PROTOCOL_VERSION) {
      return this.refuse(
        new OfframpError('UNSUPPORTED_VERSION', `protocol version ${version} is not spoken here; supported: ${SUPPORTED_VERSIONS.join(', ')}`),
      );
    }
    const r = decodeFrame(data, this.ctx.limits);
    if (!r.ok) return this.refuse(r.error);
    if (r.message.type !== 'hello') return this.refuse(new OfframpError('BAD_REQUEST', `expected Hello, got ${r.message.type}`));
    this.onHello(r.message.hello);
  }

  private onHello(h: Hello): void {
    clearTimeout(this.helloTimer);
    const auth = this.ctx.opts.auth;
    if (auth) {
      // A token in the Hello is always checked; without one, the upgrade's must have been good.
      const why = h.authToken ? checkToken(auth, h.authToken) : this.upgradeAuthenticated ? null : 'missing token';
      if (why) return this.refuse(new OfframpError('UNAUTHENTICATED', `Hello: ${why}`));
    }
    let t: Terms;
    try {
      t = this.bind(h);
    } catch (err) {
      return this.refuse(err as OfframpError);
    }
    this.terms = t;
    const ratePoints = [...t.ratePoints];
    this.log.info(
      { event: 'hello', client: `${h.clientName}/${h.clientVersion}`, bundle: t.s.key, ratePoints, inputs: [...t.inputs.keys()] },
      'device connected',
    );
    this.send({ type: 'helloAck', helloAck: this.helloAck(h, t) });
  }

  /** The terms a Hello asks for, as far as this edge serves them; throws the error that refuses the connection when nothing is left to send. */
  private bind(h: Hello): Terms {
    const s = resolveBundle(this.ctx.registry, h.bundle);
    const ratePoints = [...new Set(h.ratePoints)].filter((i) => i < s.ratePoints.length);
    const inputs = new Map<number, InputEncoding>();
    h.inputEncodings.forEach((e, i) => {
      const enc = inputEncodingFromWire(e, s, this.ctx.jpeg !== undefined);
      if (typeof enc !== 'string') inputs.set(i, enc);
    });
    if (ratePoints.length === 0 && inputs.size === 0) {
      throw new OfframpError(
        'BAD_REQUEST',
        `nothing to send: none of the Hello's rate points [${h.ratePoints.join(', ')}] or input encodings is served (${s.ratePoints.length} rate points)`,
      );
    }
    const { defaultDeadlineMs, maxDeadlineMs } = this.ctx.opts;
    return {
      s,
      ratePoints: new Set(ratePoints),
      inputs,
      zstd: h.zstd,
      output: { encoding: h.outputEncoding, zstd: h.zstd ? this.ctx.zstd : undefined },
      deadlineMs: Math.min(maxDeadlineMs, h.deadlineMs || defaultDeadlineMs),
      deviceId: Buffer.from(h.deviceId).toString('hex'),
    };
  }

  /** The HelloAck for the bound terms: what was accepted, and this edge's limits. */
  private helloAck(h: Hello, t: Terms): HelloAckInit {
    const o = this.ctx.opts;
    return {
      protocolVersion: PROTOCOL_VERSION,
      bundle: h.bundle,
      ratePoints: [...t.ratePoints],
      inputEncodings: [...t.inputs.keys()],
      zstd: h.zstd,
      outputEncoding: h.outputEncoding,
      limits: {
        maxFrameBytes: this.ctx.limits.maxFrameBytes,
        maxInFlight: o.maxInFlight,
        maxBatch: o.maxBatch,
        deadlineMs: t.deadlineMs,
        maxDeadlineMs: o.maxDeadlineMs,
        rateLimitPerSecond: o.rateLimitPerSecond,
        rateBurst: o.rateLimitPerSecond > 0 ? o.rateBurst : 0,
      },
      serverId: o.serverId,
    };
  }

  /**
   * The features (or model input) of a request; the QUEUE_FULL that refuses it, returned (under
   * overload the common case, where a throw cost more than the rest of the refusal's checks); or a
   * thrown error that ends a bad request. Cheap checks first, admission before decoding.
   */
  private decode(r: Request, t: Terms): Float32Array | OfframpError {
    const s = t.s;
    if (r.zstd && !t.zstd) throw new OfframpError('UNSUPPORTED_CODEC', 'zstd payloads were not agreed in the handshake', { requestId: r.id });
    if (r.graph === pb.Graph.GRAPH_TAIL) {
      if (!t.ratePoints.has(r.rate))
        throw new OfframpError('BAD_REQUEST', `rate point ${r.rate} was not agreed in the handshake (agreed: ${[...t.ratePoints].join(', ') || 'none'})`, {
          requestId: r.id,
        });
      if (r.payload.length > s.maxPayload[r.rate]!)
        throw new OfframpError('TOO_LARGE', `payload of ${r.payload.length} bytes is larger than rate point ${r.rate} can produce (${s.maxPayload[r.rate]})`, {
          requestId: r.id,
        });
      const refused = this.ctx.scheduler.full(s.graphKeys.tail, this.deadlineOf(r, t), r.id);
      if (refused) return refused;
      const out = this.ctx.scheduler.sampleBuffer(s.graphKeys.tail);
      return withId(() => decodeFeatures(r.payload, r.zstd, s.featureShape, s.ratePoints[r.rate]!, { zstd: this.ctx.zstd, out }), r.id);
    }
    const enc = t.inputs.get(r.rate);
    if (!enc)
      throw new OfframpError('BAD_REQUEST', `input encoding ${r.rate} was not agreed in the handshake (agreed: ${[...t.inputs.keys()].join(', ') || 'none'})`, {
        requestId: r.id,
      });
    if (r.payload.length > maxInputPayload(s, enc))
      throw new OfframpError('TOO_LARGE', `payload of ${r.payload.length} bytes is larger than input encoding ${r.rate} can produce`, { requestId: r.id });
    const refused = this.ctx.scheduler.full(s.graphKeys.full, this.deadlineOf(r, t), r.id);
    if (refused) return refused;
    return withId(() => {
      const m = s.bundle.manifest;
      if (m.input.raw.dtype === 'float32') {
        const x = decodeFeatures(r.payload, r.zstd, s.rawShape, { codec: 'float32' }, { zstd: this.ctx.zstd });
        return normalizeInto(x, m.input, this.ctx.scheduler.sampleBuffer(s.graphKeys.full));
      }
      const raw = decodeInput(r.payload, r.zstd, s.rawShape, enc, { zstd: this.ctx.zstd, jpeg: this.ctx.jpeg });
      return normalizeInto(raw, m.input, this.ctx.scheduler.sampleBuffer(s.graphKeys.full));
    }, r.id);
  }

  /** The request's deadline, ms: its own, else the connection's, capped. */
  private deadlineOf(r: Request, t: Terms): number {
    return Math.min(this.ctx.opts.maxDeadlineMs, r.deadlineMs || t.deadlineMs);
  }

  private onRequest(r: Request, t: Terms): void {
    const t0 = performance.now();
    if (!this.admit(r)) return;
    let features: Float32Array | OfframpError;
    try {
      features = this.decode(r, t);
    } catch (err) {
      return this.fail(r.id, asOfframpError(err, r.id));
    }
    if (features instanceof OfframpError) return this.fail(r.id, features);
    const decodeUs = Math.round((performance.now() - t0) * 1000);
    // This connection's end of the request: exactly once, and only while it is still in flight here.
    const deliver = (o: Outcome): void => {
      if (!this.inflight.delete(r.id)) return;
      this.countOutcome(o.type === 'error' ? (errorCodeFromWire(o.error.code ?? 0) ?? 'INTERNAL') : 'ok');
      this.sendOutcome(r.id, o);
    };
    // With a device id, the request may be a retry of one that ran (or runs) on another connection.
    const dedupKey = t.deviceId ? `${t.s.key}\0${t.deviceId}\0${r.id}` : undefined;
    let end: End = deliver;
    if (dedupKey) {
      const e = this.throughDedup(r, dedupKey, deliver);
      if (!e) return;
      end = e;
    }
    const q = this.queued(r, t, features, t0, decodeUs, end);
    if (!dedupKey) this.inflight.set(r.id, () => this.ctx.scheduler.cancel(q));
    try {
      this.ctx.scheduler.enqueue(t.s.graphKeys[r.graph === pb.Graph.GRAPH_FULL ? 'full' : 'tail'], q);
    } catch (err) {
      q.reject(asOfframpError(err, r.id));
    }
  }

  /** Ends a request this connection takes no more of now (its id in flight, the edge draining, too many in flight); true when it may go on. */
  private admit(r: Request): boolean {
    if (this.inflight.has(r.id)) {
      this.endWithError(r.id, new OfframpError('DUPLICATE_ID', `request id ${r.id} was sent again while in flight; both end here`));
      return false;
    }
    if (this.ctx.isDraining()) {
      this.fail(r.id, new OfframpError('SHUTTING_DOWN', 'this edge is draining', { retryAfterMs: 1000 }));
      return false;
    }
    if (this.inflight.size >= this.ctx.opts.maxInFlight) {
      this.fail(r.id, OfframpError.unstacked('TOO_MANY_IN_FLIGHT', `${this.inflight.size} requests in flight; the limit is ${this.ctx.opts.maxInFlight}`));
      return false;
    }
    return true;
  }

  /**
   * Admits a request with a device id to the dedup window: a conflict or a finished outcome ends it
   * here, an attached one waits for the run already going; else returns how its own run ends
   * (undefined when there is nothing to run).
   */
  private throughDedup(r: Request, key: string, deliver: (o: Outcome) => void): End | undefined {
    const digest = createHash('sha256').update(`${r.graph}/${r.rate}/${r.zstd}/${r.want}/${r.topK}/`).update(r.payload).digest('base64');
    const a = this.ctx.dedup.admit(key, digest, deliver);
    if (a.kind === 'conflict') {
      this.fail(r.id, new OfframpError('DUPLICATE_ID', `request id ${r.id} was used by this device for a different request`));
      return undefined;
    }
    if (a.kind === 'done') {
      this.countOutcome('dedup');
      this.sendOutcome(r.id, a.outcome);
      return undefined;
    }
    // Closing this connection stops the delivery, not the execution: a retry picks it up.
    this.inflight.set(r.id, () => this.ctx.dedup.detach(key, deliver));
    if (a.kind === 'attached') return undefined;
    return (o, executed) => this.ctx.dedup.finish(key, o, executed);
  }

  /** The scheduler's entry for a decoded request: on completion, the stage latencies observed and the answer built (or its error) handed to `end`. */
  private queued(r: Request, t: Terms, features: Float32Array, t0: number, decodeUs: number, end: End): QueuedRequest {
    const now = performance.now();
    return {
      features,
      enqueuedAt: now,
      deadlineAt: now + this.deadlineOf(r, t),
      cancelled: false,
      resolve: ({ outputs, queueUs, computeUs, batchSize }) => {
        const m = this.ctx.metrics;
        m.latency.observe('queue', queueUs);
        m.latency.observe('decode', decodeUs);
        m.latency.observe('compute', computeUs);
        m.latency.observe('total', Math.round((performance.now() - t0) * 1000));
        let answer: Outcome;
        try {
          answer = { type: 'answer', answer: buildAnswer(r, t.s.outputs, outputs, { queueUs, decodeUs, computeUs, batchSize }, t.output) };
        } catch (err) {
          answer = errorOutcome(asOfframpError(err, r.id), this.ctx.limits.maxTextLength);
        }
        end(answer, true);
      },
      reject: (e) => end(errorOutcome(e, this.ctx.limits.maxTextLength), false),
    };
  }

  /**
   * Ends request `id` with an error; when `id` is in flight, that request ends here (its own
   * answer is dropped), so the id still gets exactly one outcome.
   */
  private endWithError(id: number, e: OfframpError): void {
    const stop = this.inflight.get(id);
    if (stop) {
      this.inflight.delete(id);
      stop();
    }
    this.fail(id, e);
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
    // Refused more frames within a second than the rate allows: the peer ignores retry_after_ms.
    if (++this.refused > rate) {
      this.log.warn({ event: 'rate-abuse', refused: this.refused }, 'closing a connection that keeps sending over its rate');
      this.ws.close(1008, 'rate limit exceeded');
    }
    return false;
  }

  /** Until the bucket holds one token again, ms. */
  private retryAfterMs(): number {
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ctx.opts.rateLimitPerSecond));
  }

  /** Ends request `id`, which was never accepted, with an error. */
  private fail(id: number, e: OfframpError): void {
    this.countOutcome(e.code);
    this.sendError(id, e);
  }

  private countOutcome(outcome: string): void {
    this.ctx.metrics.requests.add(outcome);
  }

  private sendError(id: number, e: OfframpError): void {
    this.send({ type: 'error', error: errorInit(id, e, this.ctx.limits.maxTextLength) });
  }

  private sendOutcome(id: number, o: Outcome): void {
    if (o.type === 'error') this.send({ type: 'error', error: { ...o.error, id } });
    else this.send({ type: 'answer', answer: { ...o.answer, id } });
  }

  /** Sends the Error that refuses the connection, then closes it cleanly. */
  private refuse(e: OfframpError): void {
    clearTimeout(this.helloTimer);
    this.log.info({ event: 'refused', code: e.code, reason: e.message }, 'connection refused');
    const err = errorInit(0, e, this.ctx.limits.maxTextLength);
    if (e.code === 'UNSUPPORTED_VERSION') err.supportedVersions = [...SUPPORTED_VERSIONS];
    this.send({ type: 'error', error: err });
    this.ws.close(1008, e.code);
  }

  private send(m: MessageInit): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.ctx.opts.maxBufferedBytes) {
      // A peer that does not read: stop buffering for it.
      this.log.warn({ event: 'slow-reader', buffered: this.ws.bufferedAmount }, 'closing a connection that does not read');
      this.ws.close(1008, 'too much unread data');
      return;
    }
    let bytes = encodeFrame(m);
    if (bytes.length > this.ctx.limits.maxFrameBytes && m.type === 'answer') {
      const id = m.answer.id ?? 0;
      bytes = encodeFrame({
        type: 'error',
        error: errorInit(
          id,
          new OfframpError('TOO_LARGE', `the answer takes ${bytes.length} bytes, over the frame limit of ${this.ctx.limits.maxFrameBytes}`),
          this.ctx.limits.maxTextLength,
        ),
      });
    }
    this.ctx.metrics.bytes.add('out', bytes.length);
    if (this.reading && this.socket) corkForRead(this.socket);
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

/** The wire Error for `e` ending request `id` (0: no request). */
function errorInit(id: number, e: OfframpError, maxText: number): ErrorInit {
  const code = isWireErrorCode(e.code) ? e.code : 'INTERNAL';
  return { id, code: errorCodeToWire(code), message: e.message.slice(0, maxText), retryAfterMs: e.retryAfterMs };
}

function errorOutcome(e: OfframpError, maxText: number): Outcome {
  return { type: 'error', error: errorInit(0, e, maxText) };
}

type Corkable = Pick<Writable, 'cork' | 'uncork'>;
/** Sockets corked while the frames of the chunk just read are handled. */
const corked = new Set<Corkable>();

/**
 * Holds the replies to the frames of the chunk being read on `socket` until they are all handled,
 * then sends them in one write: a loop that fell behind reads many frames per socket at once, and
 * under overload writing refusals one by one was a third of the event loop (measured at 3x
 * capacity). Uncorked on the next tick — when ws has dispatched the whole chunk, before the loop
 * reads the next socket — not at the end of the loop's turn, so a reply does not wait for every
 * other socket read in the same turn. Corked at the first reply sent while a read is handled, so a
 * read of requests that all go to the queue costs nothing here.
 */
function corkForRead(socket: Corkable): void {
  if (corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(uncork, socket);
}

function uncork(socket: Corkable): void {
  corked.delete(socket);
  socket.uncork();
}

function asOfframpError(err: unknown, id?: number): OfframpError {
  if (isOfframpError(err)) return err;
  return new OfframpError('INTERNAL', String(err), id === undefined ? {} : { requestId: id });
}

/** Runs a decode step; its OfframpErrors carry the request id. */
function withId<T>(fn: () => T, id: number): T {
  try {
    return fn();
  } catch (err) {
    const e = asOfframpError(err, id);
    throw e.requestId === undefined ? new OfframpError(e.code, e.message, { requestId: id, retryAfterMs: e.retryAfterMs, cause: e }) : e;
  }
}
