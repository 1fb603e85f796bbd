/**
 * The protocol's messages as plain TypeScript objects (camelCase, string enums). These are what
 * callers build and receive; `frame.ts` maps them to and from the generated protobuf code.
 */
import type { WireErrorCode } from './errors.js';

/** Payload compression named in a request. */
export type Codec = 'none' | 'zstd';

/** Graph of the bundle a request runs on: the split tail, or the full model (full offload). */
export type RequestGraph = 'tail' | 'full';

/** Bit widths a tensor may be sent at: 1..8 quantized, 16 float16, 32 float32. */
export const BIT_WIDTHS: readonly number[] = Object.freeze([1, 2, 3, 4, 5, 6, 7, 8, 16, 32]);

/** Names a bundle exactly. */
export interface BundleRef {
  id: string;
  version: string;
  /** Lower-case hex sha256 of manifest.json. */
  manifestSha256: string;
}

/** Device → edge, first message. */
export interface Hello {
  type: 'hello';
  protocolVersion: number;
  clientName: string;
  clientVersion: string;
  bundle: BundleRef;
  codecs: Codec[];
  bitWidths: number[];
  /** Empty when the device sends none. */
  authToken: string;
  /** Empty when the device sends none (request ids are then scoped to the connection). */
  deviceId: string;
}

/** Limits the edge enforces on a connection. */
export interface ServerLimits {
  maxFrameBytes: number;
  maxInFlight: number;
  maxBatch: number;
}

/** Edge → device: the Hello is accepted. */
export interface HelloAck {
  type: 'helloAck';
  protocolVersion: number;
  bundle: BundleRef;
  codecs: Codec[];
  bitWidths: number[];
  limits: ServerLimits;
  serverId: string;
}

/**
 * How a tensor's bytes are encoded: the split fields of a request, and exactly what the feature
 * codec produces and consumes.
 */
export interface TensorEncoding {
  shape: number[];
  /** 1..8 (quantized), 16 (float16) or 32 (float32). */
  bits: number;
  /** value = (q - zeroPoint) * scale; one entry per tensor or shape[axis] entries; empty for floats. */
  scale: number[];
  zeroPoint: number[];
  /** Channel axis of per-channel parameters (0 when per tensor). */
  axis: number;
  codec: Codec;
  /** Bytes of the packed payload before compression. */
  uncompressedBytes: number;
}

/** Device → edge: run one tensor. */
export interface InferRequest {
  type: 'inferRequest';
  /** Device-chosen, unique among in-flight requests on the connection; echoed. */
  id: string;
  /** Tensor name (the graph input it feeds). */
  name: string;
  /** Logical type of the decoded tensor; this version supports 'FP32'. */
  datatype: 'FP32';
  encoding: TensorEncoding;
  /** The encoded (packed, maybe compressed) bytes. */
  raw: Uint8Array;
  /** Exit the device evaluated before offloading, -1 for none, and its confidence. */
  exitIndex: number;
  exitConfidence: number;
  /** Milliseconds the edge has from receipt; 0 = the server's default. */
  deadlineMs: number;
  graph: RequestGraph;
}

/** Server-side timings, microseconds. */
export interface ServerTimings {
  queueUs: number;
  decodeUs: number;
  computeUs: number;
}

/** Edge → device: the answer to one request. */
export interface InferResponse {
  type: 'inferResponse';
  id: string;
  label: number;
  /** All labels' scores in order when `topLabels` is empty; else the scores of `topLabels`. */
  scores: number[];
  topLabels: number[];
  timings: ServerTimings;
  batchSize: number;
}

/** Ends one request (`id` set) or refuses the connection (`id` empty). */
export interface ErrorMessage {
  type: 'error';
  id: string;
  code: WireErrorCode;
  message: string;
  retryAfterMs: number;
}

/** One frame's content. */
export type Message = Hello | HelloAck | InferRequest | InferResponse | ErrorMessage;

/** Bytes of `elements` values packed densely at `bits` bits each (no padding between values). */
export function packedByteLength(elements: number, bits: number): number {
  return Math.ceil((elements * bits) / 8);
}
