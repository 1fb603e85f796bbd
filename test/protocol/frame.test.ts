import { describe, expect, it } from 'vitest';
import type { offramp } from '../../protocol/generated/offramp.js';
import {
  OfframpError,
  decodeFrame,
  encodeCheckedFrame,
  encodeFrame,
  peekHelloVersion,
  peekRequestId,
  resolveFrameLimits,
  type AnswerInit,
  type FrameLimits,
  type HelloAckInit,
  type HelloInit,
  type Message,
  type MessageInit,
  type RequestInit,
} from '../../protocol/index.js';
import {
  ANSWER_HEX,
  BUNDLE_HEX,
  ERROR_HEX,
  HELLO_ACK_HEX,
  HELLO_HEX,
  REQUEST_HEX,
  SHA,
  answer,
  bytes,
  error,
  hello,
  helloAck,
  hex,
  plain,
  request,
  type,
} from './messages.fixture.js';

const TYPE_NAMES = { hello: 'Hello', helloAck: 'HelloAck', request: 'Request', answer: 'Answer', error: 'Error' } as const;

/** The message inside a decoded frame, every field read. */
function fieldsOf(m: Message): Record<string, unknown> {
  const inner = (m as unknown as Record<string, unknown>)[m.type];
  return plain(type(TYPE_NAMES[m.type]), inner);
}

function decodeOk(frame: Uint8Array, limits?: FrameLimits): Message {
  const r = decodeFrame(frame, limits);
  if (!r.ok) throw new Error(`expected a message, got ${r.error.code}: ${r.error.message}`);
  return r.message;
}

function expectError(frame: Uint8Array, code: string, message: string | RegExp, requestId?: number, limits?: FrameLimits): OfframpError {
  const r = decodeFrame(frame, limits);
  if (r.ok) throw new Error(`expected ${code}, decoded ${JSON.stringify(r.message)}`);
  expect(r.error).toBeInstanceOf(OfframpError);
  expect(r.error.code).toBe(code);
  if (typeof message === 'string') expect(r.error.message).toBe(message);
  else expect(r.error.message).toMatch(message);
  expect(r.error.requestId).toBe(requestId);
  return r.error;
}

const GOOD_BUNDLE = { id: 'tiny', version: '0.2.0', manifestSha256: SHA };
const LIMITS = { maxFrameBytes: 65536, maxInFlight: 64, maxBatch: 32, deadlineMs: 10_000, maxDeadlineMs: 60_000 };
const helloFrame = (h: Partial<HelloInit>): Uint8Array =>
  encodeFrame({ type: 'hello', hello: { protocolVersion: 2, bundle: GOOD_BUNDLE, ratePoints: [0], ...h } });
const ackFrame = (a: Partial<HelloAckInit>): Uint8Array =>
  encodeFrame({ type: 'helloAck', helloAck: { protocolVersion: 2, bundle: GOOD_BUNDLE, limits: LIMITS, ...a } });
const requestFrame = (r: RequestInit): Uint8Array => encodeFrame({ type: 'request', request: r });
const answerFrame = (a: AnswerInit): Uint8Array => encodeFrame({ type: 'answer', answer: a });

describe('encodeFrame / decodeFrame: pinned frames', () => {
  const cases: [string, MessageInit, string][] = [
    ['Hello', { type: 'hello', hello }, HELLO_HEX],
    ['HelloAck', { type: 'helloAck', helloAck }, HELLO_ACK_HEX],
    ['Request (full offload, every field)', { type: 'request', request }, REQUEST_HEX],
    ['Answer (every field)', { type: 'answer', answer }, ANSWER_HEX],
    ['Error', { type: 'error', error }, ERROR_HEX],
  ];
  for (const [name, message, expected] of cases) {
    it(`encodes ${name} to the pinned bytes`, () => {
      expect(hex(encodeFrame(message))).toBe(expected);
    });
    it(`decodes the pinned ${name} bytes back to every field`, () => {
      const m = decodeOk(bytes(expected));
      expect(m.type).toBe(message.type);
      expect(fieldsOf(m)).toEqual(plain(type(TYPE_NAMES[message.type]), (message as unknown as Record<string, unknown>)[message.type]));
    });
  }

  it('writes the split request of PROTOCOL.md §4 in 36 bytes: 1a 22 08 01 12 1e <30 bytes>', () => {
    const payload = Uint8Array.from({ length: 30 }, (_, i) => i + 1);
    const frame = encodeFrame({ type: 'request', request: { id: 1, payload, rate: 0 } });
    expect(frame.length).toBe(36);
    expect(hex(frame)).toBe(`1a220801121e${hex(payload)}`);
    const m = decodeOk(frame);
    expect(fieldsOf(m)).toEqual({ id: 1, payload, rate: 0, graph: 0, zstd: false, deadlineMs: 0, want: 0, topK: 0 });
  });

  it('writes a class answer with a 2-byte id, label >= 1 and confidence >= 128 in 10 bytes (PROTOCOL.md §5)', () => {
    // 22 08: field 4, 8 bytes; 08 ac02 id 300; 10 07 label 7; 18 f201 confidence 242.
    expect(hex(encodeFrame({ type: 'answer', answer: { id: 300, label: 7, confidence: 242 } }))).toBe('220808ac02100718f201');
    // With a 1-byte id the same answer is 9 bytes: 22 07 08 01 10 07 18 f2 01.
    expect(hex(encodeFrame({ type: 'answer', answer: { id: 1, label: 7, confidence: 242 } }))).toBe('22070801100718f201');
  });

  it('writes a refusal: Error{id 0, UNSUPPORTED_VERSION, supported_versions [2]}', () => {
    const frame = encodeFrame({ type: 'error', error: { id: 0, code: 12, message: 'v', supportedVersions: [2] } });
    expect(hex(frame)).toBe('2a08100c1a01762a0102');
    expect(fieldsOf(decodeOk(frame))).toEqual({ id: 0, code: 12, message: 'v', retryAfterMs: 0, supportedVersions: [2] });
  });

  it('omits fields at their defaults, whether set or not', () => {
    expect(hex(requestFrame({ id: 1 }))).toBe('1a020801');
    expect(hex(requestFrame({ id: 1, payload: new Uint8Array(0), rate: 0, graph: 0, zstd: false, deadlineMs: 0, want: 0, topK: 0 }))).toBe('1a020801');
    expect(hex(answerFrame({ id: 1, label: 0, confidence: 0, topLabels: [], scores: [], timings: null, outputs: [] }))).toBe('22020801');
  });

  it('carries the largest id, 2^32 - 1, in a 5-byte varint', () => {
    const frame = requestFrame({ id: 0xffffffff });
    expect(hex(frame)).toBe('1a0608ffffffff0f');
    expect(fieldsOf(decodeOk(frame)).id).toBe(0xffffffff);
  });

  it('writes the bundle reference as pinned', () => {
    expect(hex(helloFrame({ protocolVersion: 2, ratePoints: [] }))).toBe(`0a530802224f${BUNDLE_HEX}`);
  });
});

describe('decodeFrame: never throws, maps each failure to a code', () => {
  it('answers TOO_LARGE above maxFrameBytes, naming the request it could peek', () => {
    const frame = encodeFrame({ type: 'request', request: { id: 9, payload: new Uint8Array(30) } });
    expect(frame.length).toBe(36);
    expectError(frame, 'TOO_LARGE', 'frame of 36 bytes exceeds the limit of 35', 9, resolveFrameLimits({ maxFrameBytes: 35 }));
    expect(decodeFrame(frame, resolveFrameLimits({ maxFrameBytes: 36 })).ok).toBe(true);
    // Not a request: no id to name.
    expectError(bytes(HELLO_HEX), 'TOO_LARGE', 'frame of 142 bytes exceeds the limit of 100', undefined, resolveFrameLimits({ maxFrameBytes: 100 }));
  });

  it('answers BAD_REQUEST for garbage, without an id', () => {
    expectError(bytes('ffffffff'), 'BAD_REQUEST', /^malformed frame: /);
    expectError(bytes('1aff01' + '00'.repeat(10)), 'BAD_REQUEST', /^malformed frame: index out of range/);
    expectError(new Uint8Array(0), 'BAD_REQUEST', 'frame holds no message');
    // Only an unknown Frame field: nothing to read.
    expectError(bytes('3000'), 'BAD_REQUEST', 'frame holds no message');
  });

  it('refuses deeply nested groups without overflowing the stack', () => {
    const depth = 100_000;
    const frame = new Uint8Array(depth * 2);
    frame.fill(0x7b, 0, depth); // field 15, start group
    frame.fill(0x7c, depth); // field 15, end group
    expectError(frame, 'BAD_REQUEST', /^malformed frame: /);
  });

  it('keeps the id of a truncated request (peekRequestId): every truncation of a valid one', () => {
    const frame = bytes(REQUEST_HEX); // 1a 13 08 ac02 ...: the id is whole from 5 bytes on
    for (let n = 1; n < frame.length; n++) {
      expectError(frame.subarray(0, n), 'BAD_REQUEST', /^malformed frame: /, n >= 5 ? 300 : undefined);
    }
  });

  it('keeps the id of a request whose body after the id is garbage', () => {
    expectError(bytes('1a0508077fffff'), 'BAD_REQUEST', /^malformed frame: /, 7);
  });

  it('reads an unknown ErrorCode as INTERNAL, keeping the text', () => {
    const m = decodeOk(encodeFrame({ type: 'error', error: { id: 9, code: 99 as offramp.v2.ErrorCode, message: 'new code', retryAfterMs: 4 } }));
    expect(fieldsOf(m)).toEqual({ id: 9, code: 10, message: 'unknown error code 99: new code', retryAfterMs: 4, supportedVersions: [] });
  });

  it('ignores unknown fields (PROTOCOL.md §11)', () => {
    // The pinned request with field 15 (varint 1) appended inside it: 1a 15 ... 78 01.
    const frame = bytes('1a15' + REQUEST_HEX.slice(4) + '7801');
    expect(fieldsOf(decodeOk(frame))).toEqual(plain(type('Request'), request));
  });
});

describe('peekRequestId', () => {
  it('reads the id of anything that starts like a Request, and nothing else', () => {
    expect(peekRequestId(bytes('1a220801'))).toBe(1);
    expect(peekRequestId(bytes('1a0608ffffffff0f'))).toBe(0xffffffff);
    expect(peekRequestId(bytes('1a0508ac02'))).toBe(300);
    expect(peekRequestId(bytes('1a020800'))).toBeUndefined(); // id 0 is no id
    expect(peekRequestId(bytes('1a04120201'))).toBeUndefined(); // id not first
    expect(peekRequestId(bytes('1a0608ffffffff1f'))).toBeUndefined(); // more than 32 bits
    expect(peekRequestId(bytes('1a0508ac'))).toBeUndefined(); // truncated varint
    expect(peekRequestId(bytes('22020801'))).toBeUndefined(); // an Answer
    expect(peekRequestId(new Uint8Array(0))).toBeUndefined();
  });
});

describe('peekHelloVersion', () => {
  it('reads a v1 Hello (offramp.v1 wire bytes) as version 1, whatever the rest holds', () => {
    const v1 = bytes('0a680801120373646b1a05302e312e30224f0a0474696e791205302e312e301a40' + '6162'.repeat(32) + '2a0201023203020408');
    expect(peekHelloVersion(v1)).toBe(1);
  });

  it('reads v2, 0 when the Hello leaves the version out, and nothing for other frames', () => {
    expect(peekHelloVersion(bytes(HELLO_HEX))).toBe(2);
    expect(peekHelloVersion(helloFrame({ protocolVersion: 0 }))).toBe(0);
    expect(peekHelloVersion(helloFrame({ protocolVersion: 0xffffffff }))).toBe(0xffffffff);
    expect(peekHelloVersion(bytes(REQUEST_HEX))).toBeUndefined();
    expect(peekHelloVersion(new Uint8Array(0))).toBeUndefined();
  });
});

describe('validation (validate.ts)', () => {
  it('Request: id required, known want bits only, top_k up to 1024, known graph', () => {
    expectError(bytes('1a021801'), 'BAD_REQUEST', 'id is required (1 .. 2^32 - 1)', undefined);
    expectError(requestFrame({ id: 3, want: 8 }), 'BAD_REQUEST', 'want 8 sets unknown flags (known: 7)', 3);
    expectError(requestFrame({ id: 3, want: 0x80000001 }), 'BAD_REQUEST', 'want 2147483649 sets unknown flags (known: 7)', 3);
    expect(decodeFrame(requestFrame({ id: 3, want: 7 })).ok).toBe(true);
    expectError(requestFrame({ id: 3, topK: 1025 }), 'BAD_REQUEST', 'top_k 1025 is more than 1024', 3);
    expect(decodeFrame(requestFrame({ id: 3, topK: 1024 })).ok).toBe(true);
    expectError(requestFrame({ id: 3, graph: 2 as offramp.v2.Graph }), 'BAD_REQUEST', 'graph 2 is not a known value', 3);
  });

  it('Hello: device_id empty or 16..64 bytes', () => {
    for (const n of [1, 15, 65]) {
      expectError(helloFrame({ deviceId: new Uint8Array(n).fill(7) }), 'BAD_REQUEST', `device_id must be empty or 16..64 bytes (128 bits or more), got ${n}`);
    }
    for (const n of [0, 16, 64]) {
      const m = decodeOk(helloFrame({ deviceId: new Uint8Array(n).fill(7) }));
      expect(fieldsOf(m).deviceId).toEqual(new Uint8Array(n).fill(7));
    }
  });

  it('Hello: a bundle with 64 lower-case hex characters of manifest hash', () => {
    const bad = 'bundle.manifest_sha256 must be 64 lower-case hex characters';
    for (const sha of ['AB'.repeat(32), 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), '']) {
      expectError(helloFrame({ bundle: { ...GOOD_BUNDLE, manifestSha256: sha } }), 'BAD_REQUEST', bad);
    }
    expectError(helloFrame({ bundle: null }), 'BAD_REQUEST', 'bundle is required');
    expectError(helloFrame({ bundle: { ...GOOD_BUNDLE, id: '' } }), 'BAD_REQUEST', 'bundle.id is required');
    expectError(helloFrame({ bundle: { ...GOOD_BUNDLE, version: 'v'.repeat(129) } }), 'BAD_REQUEST', 'bundle.version is longer than 128 characters');
    expect(decodeFrame(helloFrame({ bundle: { ...GOOD_BUNDLE, version: 'v'.repeat(128) } })).ok).toBe(true);
  });

  it('Hello: lists of at most 64 entries, text within its limits, known output encoding', () => {
    expectError(helloFrame({ ratePoints: Array.from({ length: 65 }, (_, i) => i) }), 'BAD_REQUEST', 'rate_points lists more than 64 entries');
    expect(decodeFrame(helloFrame({ ratePoints: Array.from({ length: 64 }, (_, i) => i) })).ok).toBe(true);
    expectError(helloFrame({ inputEncodings: Array.from({ length: 65 }, () => ({ codec: 1 })) }), 'BAD_REQUEST', 'input_encodings lists more than 64 entries');
    expect(decodeFrame(helloFrame({ inputEncodings: Array.from({ length: 64 }, () => ({ codec: 1 })) })).ok).toBe(true);
    expectError(helloFrame({ clientName: 'n'.repeat(129) }), 'BAD_REQUEST', 'client_name is longer than 128 characters');
    expectError(helloFrame({ authToken: 't'.repeat(4097) }), 'BAD_REQUEST', 'auth_token is longer than 4096 characters');
    expect(decodeFrame(helloFrame({ authToken: 't'.repeat(4096) })).ok).toBe(true);
    expectError(helloFrame({ outputEncoding: 3 as offramp.v2.OutputEncoding }), 'BAD_REQUEST', 'output_encoding 3 is not a known value');
  });

  it('Hello: an input encoding with a codec this version does not know is kept for the edge to leave out of the ack (PROTOCOL.md §3, §11)', () => {
    // §3: "Entries the edge cannot accept (unknown codec, ...) are left out of the ack": the Hello
    // itself is not refused, and the positions of the other entries still count.
    const m = decodeOk(helloFrame({ inputEncodings: [{ codec: 7 as offramp.v2.InputCodec }, { codec: 1 }] }));
    expect(fieldsOf(m).inputEncodings).toEqual([
      { codec: 7, factor: 0, bits: 0, quality: 0 },
      { codec: 1, factor: 0, bits: 0, quality: 0 },
    ]);
  });

  it('HelloAck: limits required and positive, lists bounded, known output encoding', () => {
    expectError(ackFrame({ limits: null }), 'BAD_REQUEST', 'limits is required');
    for (const k of ['maxFrameBytes', 'maxInFlight', 'maxBatch', 'deadlineMs', 'maxDeadlineMs'] as const) {
      expectError(ackFrame({ limits: { ...LIMITS, [k]: 0 } }), 'BAD_REQUEST', `limits.${k} must be positive`);
    }
    expect(decodeFrame(ackFrame({ limits: { ...LIMITS, rateLimitPerSecond: 0, rateBurst: 0 } })).ok).toBe(true);
    expectError(ackFrame({ inputEncodings: Array.from({ length: 65 }, (_, i) => i) }), 'BAD_REQUEST', 'input_encodings lists more than 64 entries');
    expectError(ackFrame({ outputEncoding: 9 as offramp.v2.OutputEncoding }), 'BAD_REQUEST', 'output_encoding 9 is not a known value');
    expectError(ackFrame({ bundle: { ...GOOD_BUNDLE, manifestSha256: 'x' } }), 'BAD_REQUEST', 'bundle.manifest_sha256 must be 64 lower-case hex characters');
  });

  it('Answer: id, confidence, finite scores consistent with top labels', () => {
    expectError(answerFrame({ label: 1 }), 'BAD_REQUEST', 'id is required', undefined);
    expectError(answerFrame({ id: 4, confidence: 256 }), 'BAD_REQUEST', 'confidence 256 is above 255', 4);
    expect(decodeFrame(answerFrame({ id: 4, confidence: 255 })).ok).toBe(true);
    expectError(answerFrame({ id: 4, scores: [0.5, NaN] }), 'BAD_REQUEST', 'scores must be finite, got NaN', 4);
    expectError(answerFrame({ id: 4, scores: [Infinity] }), 'BAD_REQUEST', 'scores must be finite, got Infinity', 4);
    expectError(answerFrame({ id: 4, label: 2, topLabels: [3, 2] }), 'BAD_REQUEST', 'top_labels[0] 3 is not label 2', 4);
    expectError(answerFrame({ id: 4, label: 2, topLabels: [2, 1], scores: [0.5, 0.25, 0.25] }), 'BAD_REQUEST', 'scores has 3 entries; top_labels has 2', 4);
    expectError(answerFrame({ id: 4, topLabels: new Array<number>(1025).fill(0) }), 'BAD_REQUEST', 'top_labels has more than 1024 entries', 4);
  });

  it('Answer: output tensors named, typed, of rank <= 8, int8 with a usable scale, at most 64', () => {
    const t = { name: 'y', dtype: 1, shape: [2], data: Uint8Array.from([1, 2]) };
    const cases: [object, string][] = [
      [{ ...t, name: '' }, 'outputs.name is required'],
      [{ ...t, dtype: 0 }, 'outputs.dtype is required'],
      [{ ...t, dtype: 9 }, 'outputs.dtype 9 is not a known value'],
      [{ ...t, encoding: 5 }, 'outputs.encoding 5 is not a known value'],
      [{ ...t, shape: new Array<number>(9).fill(1) }, 'outputs.shape has rank 9; the limit is 8'],
      [{ ...t, encoding: 2, scale: 0, zeroPoint: 1 }, 'outputs: int8 tensors need a finite positive scale and a finite zero point'],
      [{ ...t, encoding: 2, scale: 1, zeroPoint: Infinity }, 'outputs: int8 tensors need a finite positive scale and a finite zero point'],
    ];
    for (const [output, message] of cases) expectError(answerFrame({ id: 6, outputs: [output] }), 'BAD_REQUEST', message, 6);
    expect(decodeFrame(answerFrame({ id: 6, outputs: [{ ...t, shape: new Array<number>(8).fill(1) }] })).ok).toBe(true);
    expectError(answerFrame({ id: 6, outputs: new Array(65).fill(t) as object[] }), 'BAD_REQUEST', 'more than 64 outputs', 6);
  });

  it('Error: message within 4096 characters, at most 64 supported versions', () => {
    expectError(encodeFrame({ type: 'error', error: { id: 1, code: 1, message: 'm'.repeat(4097) } }), 'BAD_REQUEST', 'message is longer than 4096 characters');
    expectError(
      encodeFrame({ type: 'error', error: { code: 12, supportedVersions: new Array<number>(65).fill(2) } }),
      'BAD_REQUEST',
      'supported_versions lists more than 64 entries',
    );
  });

  it("encodeCheckedFrame returns the encodeFrame bytes of a valid message and throws the decoder's error otherwise", () => {
    expect(hex(encodeCheckedFrame({ type: 'request', request }))).toBe(REQUEST_HEX);
    expect(() => encodeCheckedFrame({ type: 'request', request: { id: 5, want: 16 } })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', requestId: 5, message: 'want 16 sets unknown flags (known: 7)' }),
    );
    expect(() => encodeCheckedFrame({ type: 'request', request: { id: 5, payload: new Uint8Array(40) } }, resolveFrameLimits({ maxFrameBytes: 40 }))).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', requestId: 5 }),
    );
  });
});
