/**
 * The one list of Offramp error codes (documented in docs/errors.md). Codes marked `wire` travel
 * in the protocol's `Error` message; the others are raised locally (bundle loading, codec setup).
 */
import { offramp } from './generated/offramp.js';

/** Every stable error code an Offramp API can raise. */
export const ERROR_CODES = [
  // On the wire (values of offramp.v2.ErrorCode).
  'BAD_REQUEST',
  'UNSUPPORTED_CODEC',
  'SHAPE_MISMATCH',
  'TOO_LARGE',
  'UNKNOWN_MODEL',
  'MODEL_MISMATCH',
  'QUEUE_FULL',
  'DEADLINE_EXCEEDED',
  'UNAUTHENTICATED',
  'INTERNAL',
  'SHUTTING_DOWN',
  'UNSUPPORTED_VERSION',
  'DUPLICATE_ID',
  'TOO_MANY_IN_FLIGHT',
  'RATE_LIMITED',
  // Local only.
  'BUNDLE_INVALID',
  'BUNDLE_FILE_MISSING',
  'BUNDLE_HASH_MISMATCH',
  'BUNDLE_GRAPH_MISMATCH',
  'CODEC_UNAVAILABLE',
  'MODEL_INVALID',
  'CUT_INVALID',
  'LISTEN_FAILED',
  'INVALID_ARGUMENT',
  'DEPENDENCY_MISSING',
] as const;

/** A stable error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes that have a value in the wire protocol's `ErrorCode` enum. */
export type WireErrorCode = Exclude<
  ErrorCode,
  `BUNDLE_${string}` | 'CODEC_UNAVAILABLE' | 'MODEL_INVALID' | 'CUT_INVALID' | 'LISTEN_FAILED' | 'INVALID_ARGUMENT' | 'DEPENDENCY_MISSING'
>;

const WireEnum = offramp.v2.ErrorCode;

/** Wire enum value for a code. */
export function errorCodeToWire(code: WireErrorCode): offramp.v2.ErrorCode {
  return WireEnum[code];
}

/** Code for a wire enum value; `undefined` for values this version does not know. */
export function errorCodeFromWire(value: number): WireErrorCode | undefined {
  const name = WireEnum[value as offramp.v2.ErrorCode] as string | undefined;
  if (name === undefined || name === 'ERROR_CODE_UNSPECIFIED') return undefined;
  return name as WireErrorCode;
}

/** Is `code` one that travels on the wire? */
export function isWireErrorCode(code: ErrorCode): code is WireErrorCode {
  return code in WireEnum && code !== ('ERROR_CODE_UNSPECIFIED' as ErrorCode);
}

/** Options of an {@link OfframpError}. */
export interface OfframpErrorOptions {
  /** The request this error ends, when there is one. */
  requestId?: number;
  /** When a retry may succeed (QUEUE_FULL, SHUTTING_DOWN). */
  retryAfterMs?: number;
  cause?: unknown;
}

/** The error every Offramp API throws or returns: a message plus a stable `code`. */
export class OfframpError extends Error {
  override readonly name = 'OfframpError';
  readonly code: ErrorCode;
  readonly requestId: number | undefined;
  readonly retryAfterMs: number;

  constructor(code: ErrorCode, message: string, options: OfframpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.requestId = options.requestId;
    this.retryAfterMs = options.retryAfterMs ?? 0;
  }

  /**
   * The same error without a captured stack trace: for refusals an overloaded edge sends by the
   * thousand per second, where capturing the stack was a fifth of the event loop (measured at 3x
   * capacity). Its `stack` holds the name and message only.
   */
  static unstacked(code: ErrorCode, message: string, options: OfframpErrorOptions = {}): OfframpError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new OfframpError(code, message, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/** Is `err` an {@link OfframpError}, optionally with the given code? */
export function isOfframpError(err: unknown, code?: ErrorCode): err is OfframpError {
  return err instanceof OfframpError && (code === undefined || err.code === code);
}
