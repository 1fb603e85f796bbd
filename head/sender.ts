/**
 * Sending to the edge: the EdgeTransport a device opens (its Hello terms from the device's
 * options), and the Sender, which encodes one request (the head's latent at a rate point, or the
 * raw input for full offload), asks for what the app wants (scores, outputs, and the server's
 * timings on one request in TIMINGS_EVERY) and sends it within the deadline, once more after
 * QUEUE_FULL when the edge's retry-after still fits; other requests wait out that retry-after
 * unsent. What came of it is a {@link Sent}.
 */
import { encodeFeatures, type EncodedPayload, type RatePoint } from '../bottleneck/features.js';
import { encodeInput, type InputEncoding } from '../bottleneck/input.js';
import type { JpegBackend } from '../bottleneck/jpeg.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import type { Manifest } from '../protocol/manifest.js';
import { pb, type RequestInit } from '../protocol/messages.js';
import { INPUT_CODEC_TO_WIRE, OUTPUT_ENCODING_TO_WIRE } from './device-options.js';
import type { InferOptions } from './device-types.js';
import type { LinkEstimator } from './link.js';
import type { SocketFactory } from './socket.js';
import { EdgeTransport, type RequestOutcome, type TransportOptions } from './transport.js';

/** The longest a QUEUE_FULL's retry-after holds the device's requests back, ms. */
export const MAX_HOLD_MS = 5000;

/** The device asks for server timings on one request in this many (they cost bytes down). */
export const TIMINGS_EVERY = 8;

/** A request as the Sender hands it to the transport (the transport assigns the id and the deadline). */
export type Outgoing = Omit<RequestInit, 'id' | 'deadlineMs'>;

/** What the Sender needs of an EdgeTransport. */
export type EdgeLike = Pick<EdgeTransport, 'request' | 'ready' | 'terms'>;

/** The transport's round trips into `link`: the handshake's is provisional (it includes the edge's handling of the Hello), a ping's measured. */
export function feedRtt(link: LinkEstimator): NonNullable<TransportOptions['onRtt']> {
  return (ms, source) => link.observeRtt(ms, source === 'handshake');
}

/** Opens the device's connection to the edge; its round trips and its state feed `link`. */
export function openEdge(o: {
  url: string;
  socket: SocketFactory;
  token?: string;
  deviceId?: Uint8Array;
  manifest: Manifest;
  manifestSha256: string;
  /** Offer zstd (the device has a zstd backend). */
  zstd: boolean;
  deadlineMs: number;
  inputEncoding: InputEncoding;
  outputEncoding?: keyof typeof OUTPUT_ENCODING_TO_WIRE;
  link: LinkEstimator;
}): EdgeTransport {
  const m = o.manifest;
  const e = o.inputEncoding;
  return new EdgeTransport({
    url: o.url,
    socket: o.socket,
    token: o.token,
    clientName: 'offramp-device',
    deviceId: o.deviceId,
    bundle: { id: m.id, version: m.version, manifestSha256: o.manifestSha256 },
    ratePoints: m.bottleneck.ratePoints.map((_, i) => i),
    zstd: o.zstd,
    deadlineMs: o.deadlineMs,
    inputEncodings: [
      {
        codec: INPUT_CODEC_TO_WIRE[e.codec],
        ...('factor' in e ? { factor: e.factor, bits: e.bits } : {}),
        ...('quality' in e ? { quality: e.quality } : {}),
      },
    ],
    outputEncoding: OUTPUT_ENCODING_TO_WIRE[o.outputEncoding ?? 'fp32'],
    onRtt: feedRtt(o.link),
    onState: (ready) => o.link.setAvailable(ready),
  });
}

/**
 * Sends `req` within `deadlineMs` counted from `startedAt`; after QUEUE_FULL, waits the edge's
 * retry-after and sends once more when time is left, with what is left. Both attempts' bytes count.
 * `onQueueFull` hears every QUEUE_FULL's retry-after.
 */
export async function sendWithin(
  edge: Pick<EdgeLike, 'request'>,
  req: Outgoing,
  deadlineMs: number,
  startedAt: number,
  onQueueFull: (retryAfterMs: number) => void = () => {},
): Promise<RequestOutcome> {
  let o = await edge.request(req, deadlineMs);
  if (!o.ok && o.reason === 'server-error:QUEUE_FULL') {
    onQueueFull(o.retryAfterMs);
    const wait = o.retryAfterMs;
    const left = deadlineMs - (performance.now() - startedAt) - wait;
    if (left > 0) {
      const first = o;
      await new Promise((resolve) => setTimeout(resolve, wait));
      o = await edge.request(req, left);
      if (!o.ok && o.reason === 'server-error:QUEUE_FULL') onQueueFull(o.retryAfterMs);
      // Both attempts crossed the link.
      o = {
        ...o,
        bytesUp: o.bytesUp + first.bytesUp,
        ...(o.ok ? { bytesDown: o.bytesDown + (first.bytesDown ?? 0) } : { bytesDown: (o.bytesDown ?? 0) + (first.bytesDown ?? 0) }),
      };
    }
  }
  return o;
}

/** The request's Want bits: scores (for scores or topK), outputs, and the server's timings when asked for. */
export function wantBits(o: InferOptions, timings: boolean): number {
  return (o.scores || o.topK ? pb.Want.WANT_SCORES : 0) | (o.outputs ? pb.Want.WANT_OUTPUTS : 0) | (timings ? pb.Want.WANT_TIMINGS : 0);
}

/** One request sent (or tried), and what it took. */
export interface Sent {
  outcome: RequestOutcome;
  /** performance.now() when encoding began: the deadline counts from here. */
  startedAt: number;
  encodeMs: number;
  /** Bytes the codec produced. */
  payloadBytes: number;
  /** The radio was idle past its tail when the request left: it paid a promotion. */
  promoted: boolean;
}

export interface SenderOptions {
  manifest: Manifest;
  ratePoints: readonly RatePoint[];
  /** The device's zstd, used when the edge accepted it. */
  zstd?: ZstdBackend;
  /** For the jpeg input encoding. */
  jpeg?: JpegBackend;
  inputEncoding: InputEncoding;
  deadlineMs: number;
  /** Whether a transfer now would find the radio idle past its tail. */
  promotedNow: () => boolean;
}

/** Encodes and sends the device's requests over one EdgeTransport. */
export class Sender {
  /** Requests sent so far: one in TIMINGS_EVERY, from the first, asks for the server's timings. */
  private sends = 0;
  /** performance.now() until which the edge asked not to be sent to: its latest QUEUE_FULL's retry-after. */
  private heldUntil = 0;
  /** The handshake (HelloAck) that hold came on: a reconnection, to a restarted edge perhaps, ends it. */
  private heldOn: EdgeLike['terms'];

  constructor(
    readonly edge: EdgeLike,
    private readonly o: SenderOptions,
  ) {}

  /** Handshaken with the edge. */
  get ready(): boolean {
    return this.edge.ready;
  }

  /** The head's latent at rate point index `ratePoint`, to the edge's tail. */
  features(latent: Float32Array, ratePoint: number, opts: InferOptions): Promise<Sent> {
    const startedAt = performance.now();
    const held = this.held(startedAt);
    if (held) return Promise.resolve(held);
    const m = this.o.manifest;
    const enc = encodeFeatures(latent, m.bottleneck.shape, this.o.ratePoints[ratePoint]!, { zstd: this.zstd() });
    return this.send(enc, { rate: ratePoint }, startedAt, opts);
  }

  /** The raw input (read by `raw`, counted in the encoding time), to the edge's full model. */
  input(raw: () => Uint8Array | Float32Array, opts: InferOptions): Promise<Sent> {
    const startedAt = performance.now();
    const held = this.held(startedAt);
    if (held) return Promise.resolve(held);
    const enc = encodeInput(raw(), this.o.manifest.input.raw.shape, this.o.inputEncoding, { zstd: this.zstd(), jpeg: this.o.jpeg });
    return this.send(enc, { graph: pb.Graph.GRAPH_FULL, rate: 0 }, startedAt, opts);
  }

  /**
   * While the edge's latest QUEUE_FULL retry-after runs, a request is neither encoded nor sent: it
   * ends QUEUE_FULL at once with nothing sent (the device answers locally). An edge refusing
   * request by request spends, on each refusal, about what an answer costs it in system calls;
   * devices that keep sending into a full queue take that from the answers (docs/RELIABILITY.md).
   */
  private held(now: number): Sent | undefined {
    const left = Math.ceil(this.heldUntil - now);
    if (left <= 0 || this.edge.terms !== this.heldOn) return undefined;
    return {
      outcome: {
        ok: false,
        reason: 'server-error:QUEUE_FULL',
        message: `not sent: the edge's queue was full, and its retry-after has ${left} ms to run`,
        retryAfterMs: left,
        bytesUp: 0,
      },
      startedAt: now,
      encodeMs: 0,
      payloadBytes: 0,
      promoted: false,
    };
  }

  /** zstd when the edge accepted it in the handshake. */
  private zstd(): ZstdBackend | undefined {
    return this.edge.terms?.zstd ? this.o.zstd : undefined;
  }

  /** Sends `enc` to the graph `to` names (and at its rate point). */
  private async send(enc: EncodedPayload, to: Pick<Outgoing, 'graph' | 'rate'>, startedAt: number, opts: InferOptions): Promise<Sent> {
    const encodeMs = performance.now() - startedAt;
    const promoted = this.o.promotedNow();
    const want = wantBits(opts, this.sends++ % TIMINGS_EVERY === 0);
    const req: Outgoing = { ...to, payload: enc.payload, zstd: enc.zstd, want, topK: opts.scores ? 0 : (opts.topK ?? 0) };
    const outcome = await sendWithin(this.edge, req, this.o.deadlineMs, startedAt, (ms) => {
      // At most MAX_HOLD_MS: one wrong retry-after (a u32 on the wire) must not stop offloading for long.
      const until = performance.now() + Math.min(ms, MAX_HOLD_MS);
      if (this.edge.terms !== this.heldOn || until > this.heldUntil) {
        this.heldUntil = until;
        this.heldOn = this.edge.terms;
      }
    });
    return { outcome, startedAt, encodeMs, payloadBytes: enc.payload.length, promoted };
  }
}
