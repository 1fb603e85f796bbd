/**
 * offramp/protocol — the wire protocol (frames, messages generated from offramp.proto,
 * validation, error codes) and the bundle contract (manifest schema, verified opening).
 *
 * @example
 * ```ts
 * import { encodeFrame, decodeFrame } from 'offramp/protocol';
 * const frame = encodeFrame({ type: 'error', error: { id: 7, code: 7, message: 'queue full', retryAfterMs: 50 } });
 * const r = decodeFrame(frame);
 * if (r.ok) console.log(r.message.type); else console.error(r.error.code);
 * ```
 */
export { PROTOCOL_VERSION, SUPPORTED_VERSIONS, SUBPROTOCOL } from './version.js';
export { ERROR_CODES, OfframpError, isOfframpError, errorCodeFromWire, errorCodeToWire, isWireErrorCode } from './errors.js';
export type { ErrorCode, WireErrorCode, OfframpErrorOptions } from './errors.js';
export { DEFAULT_FRAME_LIMITS, type FrameLimits } from './limits.js';
export { pb, WANT, confidenceToWire, confidenceFromWire, packedByteLength } from './messages.js';
export type {
  BundleRef,
  Hello,
  HelloAck,
  Limits,
  Request,
  Answer,
  Timings,
  OutputTensor,
  WireError,
  WireInputEncoding,
  HelloInit,
  HelloAckInit,
  RequestInit,
  AnswerInit,
  ErrorInit,
  OutputTensorInit,
  InputEncodingInit,
  Message,
  MessageInit,
} from './messages.js';
export { encodeFrame, encodeCheckedFrame, decodeFrame, resolveFrameLimits, peekRequestId, peekHelloVersion, type DecodeResult } from './frame.js';
export { validateMessage, MAX_TOP_K, DEVICE_ID_BYTES } from './validate.js';
export { ManifestSchema, RatePointSchema, EntropyTablesSchema, GRAPH_NAMES, parseManifest, manifestJsonSchema } from './manifest.js';
export type { Manifest, GraphSpec, TensorSpec, GraphName, RatePointSpec, EntropyTables } from './manifest.js';
export { manifestProblems } from './manifest-check.js';
export { normalizeInto, denormalize } from './normalize.js';
export { softmax, argmax } from './scores.js';
export { manifestFromBytes, openBundle, readVerified, readEntropyTables, type BundleReader, type OpenedBundle } from './bundle-files.js';
export { sha256HexAsync } from './digest.js';
