/**
 * Frames: one protocol message per WebSocket binary message, as an `offramp.v2.Frame`.
 * `decodeFrame` never throws: malformed or invalid input becomes a typed {@link OfframpError},
 * carrying the request id whenever the bytes hold a readable one (the id is the request's first
 * field, so even a truncated request usually names itself).
 */
import { offramp } from './generated/offramp.js';
import { OfframpError, errorCodeFromWire, isOfframpError } from './errors.js';
import { DEFAULT_FRAME_LIMITS, type FrameLimits } from './limits.js';
import type { Answer, Hello, HelloAck, Message, MessageInit, Request, WireError } from './messages.js';
import { validateMessage } from './validate.js';

const pb = offramp.v2;

/** Outcome of {@link decodeFrame}. */
export type DecodeResult = { ok: true; message: Message } | { ok: false; error: OfframpError };

/** Full limits from a partial override of {@link DEFAULT_FRAME_LIMITS}. */
export function resolveFrameLimits(overrides: Partial<FrameLimits> = {}): FrameLimits {
  return { ...DEFAULT_FRAME_LIMITS, ...overrides };
}

/** Reads a varint at `pos`; undefined when truncated or longer than 32 bits' worth. */
function varint(b: Uint8Array, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let shift = 0, i = pos; i < b.length && shift < 35; shift += 7, i++) {
    value += (b[i]! & 0x7f) * 2 ** shift;
    if (b[i]! < 0x80) return value <= 0xffffffff ? { value, next: i + 1 } : undefined;
  }
  return undefined;
}

/**
 * The first varint field 1 inside the Frame's field `field` when the frame starts with it (a
 * Request's id, a Hello's protocol version), read without decoding the rest: how an error can
 * still name the request of a frame that does not decode.
 */
function peekFirstField(b: Uint8Array, field: number): number | undefined {
  if (b[0] !== ((field << 3) | 2)) return undefined;
  const len = varint(b, 1);
  if (!len) return undefined;
  if (b[len.next] !== 0x08) return undefined;
  return varint(b, len.next + 1)?.value;
}

/** The request id of a frame that holds a Request (maybe truncated), when readable and nonzero. */
export function peekRequestId(frame: Uint8Array): number | undefined {
  const id = peekFirstField(frame, 3);
  return id === undefined || id === 0 ? undefined : id;
}

/** A Hello's protocol_version, when the frame starts with a Hello that sets it (0 otherwise). */
export function peekHelloVersion(frame: Uint8Array): number | undefined {
  if (frame[0] !== 0x0a) return undefined;
  return peekFirstField(frame, 1) ?? 0;
}

/**
 * The decoded message. protobufjs decodes nested messages into instances whose absent fields read
 * as their defaults; absent nested messages (a Hello's bundle) stay null until validation refuses them.
 */
function toMessage(f: offramp.v2.Frame): Message {
  switch (f.msg) {
    case 'hello':
      return { type: 'hello', hello: f.hello as unknown as Hello };
    case 'helloAck':
      return { type: 'helloAck', helloAck: f.helloAck as unknown as HelloAck };
    case 'request':
      return { type: 'request', request: f.request as unknown as Request };
    case 'answer':
      return { type: 'answer', answer: f.answer as unknown as Answer };
    case 'error': {
      const e = f.error as unknown as WireError;
      // An unknown code from a newer peer still ends the request: as INTERNAL, keeping the text.
      if (errorCodeFromWire(e.code) === undefined) {
        e.message = `unknown error code ${e.code}: ${e.message}`;
        e.code = pb.ErrorCode.INTERNAL;
      }
      return { type: 'error', error: e };
    }
    default:
      throw new OfframpError('BAD_REQUEST', 'frame holds no message');
  }
}

/**
 * Decodes and validates one frame. Never throws: a frame over `maxFrameBytes` gives TOO_LARGE,
 * undecodable bytes BAD_REQUEST, invalid fields the code their check names; `error.requestId` is
 * set when the frame's request id could be read, so the error can end that request.
 */
export function decodeFrame(frame: Uint8Array, limits: FrameLimits = DEFAULT_FRAME_LIMITS): DecodeResult {
  const fail = (code: 'TOO_LARGE' | 'BAD_REQUEST', message: string, cause?: unknown): DecodeResult => {
    const requestId = peekRequestId(frame);
    return { ok: false, error: new OfframpError(code, message, { ...(requestId !== undefined ? { requestId } : {}), cause }) };
  };
  if (frame.length > limits.maxFrameBytes) return fail('TOO_LARGE', `frame of ${frame.length} bytes exceeds the limit of ${limits.maxFrameBytes}`);
  let f: offramp.v2.Frame;
  try {
    f = pb.Frame.decode(frame);
  } catch (err) {
    return fail('BAD_REQUEST', `malformed frame: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  try {
    const message = toMessage(f);
    validateMessage(message, limits);
    return { ok: true, message };
  } catch (err) {
    if (isOfframpError(err)) return { ok: false, error: err };
    return { ok: false, error: new OfframpError('INTERNAL', `frame validation failed: ${String(err)}`, { cause: err }) };
  }
}

/**
 * Encodes one message as a frame. Messages a program builds from checked values (the SDK's
 * requests, the edge's answers) are encoded as they are; {@link encodeCheckedFrame} validates
 * first, for input that came from elsewhere.
 */
export function encodeFrame(m: MessageInit): Uint8Array {
  switch (m.type) {
    case 'hello':
      return pb.Frame.encode({ hello: m.hello }).finish();
    case 'helloAck':
      return pb.Frame.encode({ helloAck: m.helloAck }).finish();
    case 'request':
      return pb.Frame.encode({ request: m.request }).finish();
    case 'answer':
      return pb.Frame.encode({ answer: m.answer }).finish();
    case 'error':
      return pb.Frame.encode({ error: m.error }).finish();
  }
}

/** Encodes, then checks the result decodes and validates as the peer will; throws {@link OfframpError}. */
export function encodeCheckedFrame(m: MessageInit, limits: FrameLimits = DEFAULT_FRAME_LIMITS): Uint8Array {
  const bytes = encodeFrame(m);
  const r = decodeFrame(bytes, limits);
  if (!r.ok) throw r.error;
  return bytes;
}
