/**
 * Frames: one protocol message per WebSocket binary message, as an `offramp.v1.Envelope`.
 * `decodeFrame` never throws: malformed or invalid input becomes a typed {@link OfframpError}.
 */
import { offramp } from './generated/offramp.js';
import { OfframpError, errorCodeFromWire, errorCodeToWire, isOfframpError } from './errors.js';
import { DEFAULT_FRAME_LIMITS, type FrameLimits } from './limits.js';
import type { Codec, RequestGraph, Message, BundleRef } from './messages.js';
import { validateMessage } from './validate.js';

const pb = offramp.v1;

/** Outcome of {@link decodeFrame}. */
export type DecodeResult = { ok: true; message: Message } | { ok: false; error: OfframpError };

/** Full limits from a partial override of {@link DEFAULT_FRAME_LIMITS}. */
export function resolveFrameLimits(overrides: Partial<FrameLimits> = {}): FrameLimits {
  return { ...DEFAULT_FRAME_LIMITS, ...overrides };
}

const CODEC_TO_WIRE: Record<Codec, offramp.v1.Codec> = { none: pb.Codec.CODEC_NONE, zstd: pb.Codec.CODEC_ZSTD };
const GRAPH_TO_WIRE: Record<RequestGraph, offramp.v1.Graph> = { tail: pb.Graph.GRAPH_TAIL, full: pb.Graph.GRAPH_FULL };

const CODEC_FROM_WIRE = new Map<number, Codec>([[pb.Codec.CODEC_NONE, 'none'], [pb.Codec.CODEC_ZSTD, 'zstd']]);
const GRAPH_FROM_WIRE = new Map<number, RequestGraph>([[pb.Graph.GRAPH_TAIL, 'tail'], [pb.Graph.GRAPH_FULL, 'full']]);

function codecFromWire(v: number): Codec | undefined {
  return CODEC_FROM_WIRE.get(v);
}

function graphFromWire(v: number): RequestGraph | undefined {
  return GRAPH_FROM_WIRE.get(v);
}

/** Capability lists ignore codec values this version does not know (a newer peer may offer more). */
function codecListFromWire(list: readonly number[]): Codec[] {
  const out: Codec[] = [];
  for (const v of list) {
    const c = codecFromWire(v);
    if (c !== undefined && !out.includes(c)) out.push(c);
  }
  return out;
}

/**
 * int64 fields decode as Long objects (protobufjs keeps 64-bit precision); shapes are bounded far
 * below 2^53 by validation, so a plain number is exact wherever it matters.
 */
function int64ToNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v !== null && typeof v === 'object' && 'toNumber' in v && typeof v.toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return NaN;
}

function bundleFromWire(b: offramp.v1.BundleRef.$Properties | null | undefined): BundleRef {
  if (!b) throw new OfframpError('BAD_REQUEST', 'bundle is required');
  return { id: b.id ?? '', version: b.version ?? '', manifestSha256: b.manifestSha256 ?? '' };
}

function fromWire(env: offramp.v1.Envelope): Message {
  switch (env.msg) {
    case 'hello': {
      const h = env.hello!;
      return {
        type: 'hello',
        protocolVersion: h.protocolVersion ?? 0,
        clientName: h.clientName ?? '',
        clientVersion: h.clientVersion ?? '',
        bundle: bundleFromWire(h.bundle),
        codecs: codecListFromWire(h.codecs ?? []),
        bitWidths: h.bitWidths ?? [],
        authToken: h.authToken ?? '',
        deviceId: h.deviceId ?? '',
      };
    }
    case 'helloAck': {
      const a = env.helloAck!;
      if (!a.limits) throw new OfframpError('BAD_REQUEST', 'limits is required');
      return {
        type: 'helloAck',
        protocolVersion: a.protocolVersion ?? 0,
        bundle: bundleFromWire(a.bundle),
        codecs: codecListFromWire(a.codecs ?? []),
        bitWidths: a.bitWidths ?? [],
        limits: {
          maxFrameBytes: a.limits.maxFrameBytes ?? 0,
          maxInFlight: a.limits.maxInFlight ?? 0,
          maxBatch: a.limits.maxBatch ?? 0,
        },
        serverId: a.serverId ?? '',
      };
    }
    case 'inferRequest': {
      const r = env.inferRequest!;
      const id = r.id ?? '';
      const requestId = id.length > 0 ? { requestId: id } : {};
      if (!r.tensor) throw new OfframpError('BAD_REQUEST', 'tensor is required', requestId);
      if (!r.quantization) throw new OfframpError('BAD_REQUEST', 'quantization is required', requestId);
      const codec = codecFromWire(r.codec ?? 0);
      if (codec === undefined) throw new OfframpError('UNSUPPORTED_CODEC', `codec ${r.codec ?? 0} is not supported (none, zstd)`, requestId);
      const graph = graphFromWire(r.graph ?? 0);
      if (graph === undefined) throw new OfframpError('BAD_REQUEST', `graph ${r.graph ?? 0} is not a known graph (tail, full)`, requestId);
      const q = r.quantization;
      return {
        type: 'inferRequest',
        id,
        name: r.tensor.name ?? '',
        datatype: (r.tensor.datatype ?? '') as 'FP32',
        encoding: {
          shape: (r.tensor.shape ?? []).map(int64ToNumber),
          bits: q.bits ?? 0,
          scale: q.scale ?? [],
          zeroPoint: q.zeroPoint ?? [],
          axis: q.axis ?? 0,
          codec,
          uncompressedBytes: r.uncompressedBytes ?? 0,
        },
        raw: r.tensor.raw ?? new Uint8Array(0),
        exitIndex: r.exitIndex ?? 0,
        exitConfidence: r.exitConfidence ?? 0,
        deadlineMs: r.deadlineMs ?? 0,
        graph,
      };
    }
    case 'inferResponse': {
      const r = env.inferResponse!;
      const t = r.timings;
      return {
        type: 'inferResponse',
        id: r.id ?? '',
        label: r.label ?? 0,
        scores: r.scores ?? [],
        topLabels: r.topLabels ?? [],
        timings: { queueUs: t?.queueUs ?? 0, decodeUs: t?.decodeUs ?? 0, computeUs: t?.computeUs ?? 0 },
        batchSize: r.batchSize ?? 0,
      };
    }
    case 'error': {
      const e = env.error!;
      const raw = e.code ?? 0;
      const code = errorCodeFromWire(raw);
      const message = e.message ?? '';
      // An unknown code from a newer peer still ends the request: as INTERNAL, keeping the text.
      return {
        type: 'error',
        id: e.id ?? '',
        code: code ?? 'INTERNAL',
        message: code === undefined ? `unknown error code ${raw}: ${message}` : message,
        retryAfterMs: e.retryAfterMs ?? 0,
      };
    }
    default:
      throw new OfframpError('BAD_REQUEST', 'frame holds no message');
  }
}

function toWire(m: Message): offramp.v1.Envelope.$Properties {
  switch (m.type) {
    case 'hello':
      return {
        hello: {
          protocolVersion: m.protocolVersion,
          clientName: m.clientName,
          clientVersion: m.clientVersion,
          bundle: m.bundle,
          codecs: m.codecs.map((c) => CODEC_TO_WIRE[c]),
          bitWidths: m.bitWidths,
          authToken: m.authToken,
          deviceId: m.deviceId,
        },
      };
    case 'helloAck':
      return {
        helloAck: {
          protocolVersion: m.protocolVersion,
          bundle: m.bundle,
          codecs: m.codecs.map((c) => CODEC_TO_WIRE[c]),
          bitWidths: m.bitWidths,
          limits: m.limits,
          serverId: m.serverId,
        },
      };
    case 'inferRequest': {
      const e = m.encoding;
      return {
        inferRequest: {
          id: m.id,
          tensor: { name: m.name, datatype: m.datatype, shape: e.shape, raw: m.raw },
          quantization: { bits: e.bits, scale: e.scale, zeroPoint: e.zeroPoint, axis: e.axis },
          codec: CODEC_TO_WIRE[e.codec],
          uncompressedBytes: e.uncompressedBytes,
          exitIndex: m.exitIndex,
          exitConfidence: m.exitConfidence,
          deadlineMs: m.deadlineMs,
          graph: GRAPH_TO_WIRE[m.graph],
        },
      };
    }
    case 'inferResponse':
      return {
        inferResponse: {
          id: m.id,
          label: m.label,
          scores: m.scores,
          topLabels: m.topLabels,
          timings: m.timings,
          batchSize: m.batchSize,
        },
      };
    case 'error':
      return {
        error: { id: m.id, code: errorCodeToWire(m.code), message: m.message, retryAfterMs: m.retryAfterMs },
      };
  }
}

/**
 * Decodes and validates one frame. Never throws: a frame over `maxFrameBytes` gives TOO_LARGE,
 * undecodable bytes BAD_REQUEST, invalid fields the code their check names (with `requestId`
 * set when the request's id could be read, so the error can end that request).
 */
export function decodeFrame(frame: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS): DecodeResult {
  if (frame.length > limits.maxFrameBytes) {
    return { ok: false, error: new OfframpError('TOO_LARGE', `frame of ${frame.length} bytes exceeds the limit of ${limits.maxFrameBytes}`) };
  }
  let env: offramp.v1.Envelope;
  try {
    env = pb.Envelope.decode(frame);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, error: new OfframpError('BAD_REQUEST', `malformed frame: ${why}`, { cause: err }) };
  }
  try {
    const message = fromWire(env);
    validateMessage(message, limits);
    return { ok: true, message };
  } catch (err) {
    if (isOfframpError(err)) return { ok: false, error: err };
    return { ok: false, error: new OfframpError('INTERNAL', `frame validation failed: ${String(err)}`, { cause: err }) };
  }
}

/** Validates and encodes one message as a frame; throws {@link OfframpError} on an invalid message. */
export function encodeFrame(message: Message, limits: FrameLimits = DEFAULT_FRAME_LIMITS): Uint8Array {
  validateMessage(message, limits);
  const bytes = pb.Envelope.encode(toWire(message)).finish();
  if (bytes.length > limits.maxFrameBytes) {
    throw new OfframpError('TOO_LARGE', `frame of ${bytes.length} bytes exceeds the limit of ${limits.maxFrameBytes}`);
  }
  return bytes;
}
