/**
 * offramp/protocol — the wire protocol (frames, messages, validation, error codes) and the bundle
 * contract (manifest schema and loader).
 *
 * @example
 * ```ts
 * import { encodeFrame, decodeFrame } from 'offramp/protocol';
 * const frame = encodeFrame({ type: 'error', id: 'r1', code: 'QUEUE_FULL', message: 'queue full', retryAfterMs: 50 });
 * const r = decodeFrame(frame);
 * if (r.ok) console.log(r.message.type); else console.error(r.error.code);
 * ```
 */
export { PROTOCOL_VERSION } from './version.js';
export { ERROR_CODES, OfframpError, isOfframpError, errorCodeFromWire, errorCodeToWire, isWireErrorCode } from './errors.js';
export type { ErrorCode, WireErrorCode, OfframpErrorOptions } from './errors.js';
export { DEFAULT_FRAME_LIMITS, type FrameLimits } from './limits.js';
export { BIT_WIDTHS, packedByteLength } from './messages.js';
export type {
  Codec, RequestGraph, BundleRef, Hello, HelloAck, ServerLimits, TensorEncoding, InferRequest,
  ServerTimings, InferResponse, ErrorMessage, Message,
} from './messages.js';
export { encodeFrame, decodeFrame, resolveFrameLimits, type DecodeResult } from './frame.js';
export { validateMessage, checkEncoding, checkShape } from './validate.js';
export { ManifestSchema, GRAPH_NAMES, parseManifest } from './manifest.js';
export type { Manifest, GraphSpec, TensorSpec, GraphName } from './manifest.js';
export { manifestProblems } from './manifest-check.js';
export { normalizeInto, denormalizeToUint8 } from './normalize.js';
export { softmax, argmax } from './scores.js';
export { loadBundle, manifestFromBytes, sha256Hex, graphProblems, type LoadedBundle, type LoadBundleOptions } from './bundle.js';
