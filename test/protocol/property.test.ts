import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeFrame,
  type Answer,
  type Hello,
  type HelloAck,
  type MessageInit,
  type OutputTensor,
  type Request,
  type WireError,
} from '../../protocol/index.js';
import { plain, type } from './messages.fixture.js';

/** Text of at most `max` UTF-16 code units, any well-formed code points (UTF-8 round-trips them). */
const text = (max: number, min = 0): fc.Arbitrary<string> => fc.string({ unit: 'binary', minLength: min, maxLength: max }).filter((s) => s.length <= max);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const positive = fc.integer({ min: 1, max: 0xffffffff });
/** Finite float32 values (-0 excluded: proto3 writes no default, so it reads back as +0). */
const f32 = fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => (v === 0 ? 0 : v));
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const list = <T>(a: fc.Arbitrary<T>, max = 64): fc.Arbitrary<T[]> => fc.array(a, { maxLength: max });

const bundle = fc.record({ id: text(128, 1), version: text(128, 1), manifestSha256: fc.stringMatching(/^[0-9a-f]{64}$/) });
const inputEncoding = fc.record({ codec: fc.constantFrom(0, 1, 2, 3), factor: u32, bits: u32, quality: u32 });
const outputEncoding = fc.constantFrom(0, 1, 2);

const hello: fc.Arbitrary<Hello> = fc.record({
  protocolVersion: u32,
  clientName: text(128),
  clientVersion: text(128),
  bundle,
  ratePoints: list(u32),
  inputEncodings: list(inputEncoding, 8),
  zstd: fc.boolean(),
  outputEncoding,
  deadlineMs: u32,
  authToken: text(300),
  deviceId: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 16, maxLength: 64 })),
});

const helloAck: fc.Arbitrary<HelloAck> = fc.record({
  protocolVersion: u32,
  bundle,
  ratePoints: list(u32),
  inputEncodings: list(u32),
  zstd: fc.boolean(),
  outputEncoding,
  limits: fc.record({
    maxFrameBytes: positive,
    maxInFlight: positive,
    maxBatch: positive,
    deadlineMs: positive,
    maxDeadlineMs: positive,
    rateLimitPerSecond: u32,
    rateBurst: u32,
  }),
  serverId: text(128),
});

const request: fc.Arbitrary<Request> = fc.record({
  id: positive,
  payload: bytes(300),
  rate: u32,
  graph: fc.constantFrom(0, 1),
  zstd: fc.boolean(),
  deadlineMs: u32,
  want: fc.integer({ min: 0, max: 7 }),
  topK: fc.integer({ min: 0, max: 1024 }),
});

const outputTensor: fc.Arbitrary<OutputTensor> = fc
  .record({
    name: text(128, 1),
    dtype: fc.constantFrom(1, 2, 3, 4),
    shape: list(u32, 8),
    encoding: outputEncoding,
    scale: f32,
    zeroPoint: f32,
    zstd: fc.boolean(),
    data: bytes(64),
  })
  // int8 tensors need a usable scale.
  .map((t) => (t.encoding === 2 && !(t.scale > 0) ? { ...t, scale: 1 } : t));

const answer: fc.Arbitrary<Answer> = fc
  .record({
    id: positive,
    label: u32,
    confidence: fc.integer({ min: 0, max: 255 }),
    topLabels: list(u32, 12),
    scores: list(f32, 12),
    timings: fc.option(fc.record({ queueUs: u32, decodeUs: u32, computeUs: u32, batchSize: u32 }), { nil: null }),
    outputs: list(outputTensor, 3),
  })
  .map((a) => {
    // With top labels: the first is the label, and scores (if any) are theirs.
    if (a.topLabels.length === 0) return a;
    const scores = a.scores.length === 0 ? [] : a.topLabels.map((_, i) => a.scores[i % a.scores.length]!);
    return { ...a, topLabels: [a.label, ...a.topLabels.slice(1)], scores };
  });

const wireError: fc.Arbitrary<WireError> = fc.record({
  id: u32,
  code: fc.integer({ min: 1, max: 15 }),
  message: text(500),
  retryAfterMs: u32,
  supportedVersions: list(u32),
});

const message: fc.Arbitrary<MessageInit & { name: string }> = fc.oneof(
  hello.map((m) => ({ type: 'hello' as const, hello: m, name: 'Hello' })),
  helloAck.map((m) => ({ type: 'helloAck' as const, helloAck: m, name: 'HelloAck' })),
  request.map((m) => ({ type: 'request' as const, request: m, name: 'Request' })),
  answer.map((m) => ({ type: 'answer' as const, answer: m, name: 'Answer' })),
  wireError.map((m) => ({ type: 'error' as const, error: m, name: 'Error' })),
);

const inner = (m: { type: string }): unknown => (m as unknown as Record<string, unknown>)[m.type];

describe('frame round trip (property)', () => {
  it('decodeFrame(encodeFrame(m)) gives back every field of random valid messages of every type', () => {
    fc.assert(
      fc.property(message, (m) => {
        const r = decodeFrame(encodeFrame(m));
        if (!r.ok) throw r.error;
        expect(r.message.type).toBe(m.type);
        const t = type(m.name);
        expect(plain(t, inner(r.message))).toEqual(plain(t, inner(m)));
      }),
      { numRuns: 3000 },
    );
  });

  it('re-encoding a decoded frame gives the same bytes', () => {
    fc.assert(
      fc.property(message, (m) => {
        const frame = encodeFrame(m);
        const r = decodeFrame(frame);
        if (!r.ok) throw r.error;
        expect(Buffer.from(encodeFrame(r.message)).equals(Buffer.from(frame))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('decodeFrame never throws on random bytes and answers BAD_REQUEST', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const r = decodeFrame(b);
        if (!r.ok) expect(r.error.code).toBe('BAD_REQUEST'); // §9.2: never INTERNAL, never a throw
      }),
      { numRuns: 20_000 },
    );
  });

  it('decodeFrame never throws on random bytes behind a valid frame header', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x0a, 0x12, 0x1a, 0x22, 0x2a), fc.uint8Array({ maxLength: 200 }), (tag, body) => {
        const frame = Uint8Array.from([tag, body.length, ...body]);
        const r = decodeFrame(frame);
        if (!r.ok) expect(r.error.code).toBe('BAD_REQUEST'); // §9.2: never INTERNAL, never a throw
      }),
      { numRuns: 20_000 },
    );
  });

  it('decodeFrame never throws on single-byte mutations and truncations of valid frames', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (m, at, value, cut) => {
        const frame = Uint8Array.from(encodeFrame(m));
        frame[at % frame.length] = value;
        for (const f of [frame, frame.subarray(0, cut % frame.length)]) {
          const r = decodeFrame(f);
          if (!r.ok) expect(r.error.code).toBe('BAD_REQUEST'); // §9.2: never INTERNAL, never a throw
        }
      }),
      { numRuns: 5000 },
    );
  });
});
