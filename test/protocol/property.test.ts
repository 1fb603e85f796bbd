import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, decodeFrame, encodeFrame, isWireErrorCode, packedByteLength, type Message, type WireErrorCode } from '../../protocol/index.js';

const text = (max: number): fc.Arbitrary<string> => fc.string({ maxLength: max });
const nonEmpty = (max: number): fc.Arbitrary<string> => fc.string({ minLength: 1, maxLength: max });
const f32 = fc.float({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map(Math.fround);
const bitWidth = fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 8, 16, 32);
const bundle = fc.record({ id: nonEmpty(20), version: nonEmpty(10), manifestSha256: fc.stringMatching(/^[0-9a-f]{64}$/) });
const codecs = fc.uniqueArray(fc.constantFrom('none' as const, 'zstd' as const), { maxLength: 2 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const request: fc.Arbitrary<Message> = fc
  .record({
    shape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
    bits: bitWidth,
    perChannel: fc.boolean(),
    codec: fc.constantFrom('none' as const, 'zstd' as const),
    id: nonEmpty(40),
    name: nonEmpty(20),
    exitIndex: fc.integer({ min: -1, max: 8 }),
    exitConfidence: fc.float({ min: 0, max: 1, noNaN: true }).map(Math.fround),
    deadlineMs: u32,
    graph: fc.constantFrom('tail' as const, 'full' as const),
    seed: fc.integer(),
  })
  .chain((r) => {
    const n = r.shape.reduce((a, b) => a * b, 1);
    const size = packedByteLength(n, r.bits);
    const channels = r.perChannel ? r.shape[0]! : 1;
    const floats = r.bits > 8;
    const params = floats
      ? fc.constant({ scale: [] as number[], zeroPoint: [] as number[] })
      : fc.record({
          scale: fc.array(fc.float({ min: Math.fround(1e-6), max: 1e3, noNaN: true }).map(Math.fround), { minLength: channels, maxLength: channels }),
          zeroPoint: fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: channels, maxLength: channels }),
        });
    const rawLength = r.codec === 'none' ? fc.constant(size) : fc.integer({ min: 1, max: Math.max(1, size - 1) });
    return fc.tuple(params, rawLength.chain((len) => fc.uint8Array({ minLength: len, maxLength: len }))).map(([p, raw]): Message => ({
      type: 'inferRequest',
      id: r.id,
      name: r.name,
      datatype: 'FP32',
      encoding: { shape: r.shape, bits: r.bits, scale: p.scale, zeroPoint: p.zeroPoint, axis: 0, codec: size > 1 ? r.codec : 'none', uncompressedBytes: size },
      raw: size > 1 || r.codec === 'none' ? raw : new Uint8Array(size),
      exitIndex: r.exitIndex,
      exitConfidence: r.exitConfidence,
      deadlineMs: r.deadlineMs,
      graph: r.graph,
    }));
  })
  // zstd needs a payload smaller than the packed size: a 1-byte tensor can only go raw.
  .filter((m) => m.type !== 'inferRequest' || m.encoding.codec === 'none' || m.raw.length < m.encoding.uncompressedBytes);

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('hello' as const), protocolVersion: fc.integer({ min: 1, max: 5 }), clientName: text(20), clientVersion: text(10), bundle, codecs, bitWidths: fc.array(bitWidth, { maxLength: 10 }), authToken: text(100), deviceId: text(40) }),
  fc.record({ type: fc.constant('helloAck' as const), protocolVersion: fc.integer({ min: 1, max: 5 }), bundle, codecs, bitWidths: fc.array(bitWidth, { maxLength: 10 }), limits: fc.record({ maxFrameBytes: fc.integer({ min: 1, max: 0xffffffff }), maxInFlight: fc.integer({ min: 1, max: 1000 }), maxBatch: fc.integer({ min: 1, max: 1000 }) }), serverId: text(20) }),
  request,
  fc.array(f32, { minLength: 1, maxLength: 20 }).chain((scores) =>
    fc.record({
      type: fc.constant('inferResponse' as const),
      id: nonEmpty(40),
      label: fc.integer({ min: 0, max: scores.length - 1 }),
      scores: fc.constant(scores),
      topLabels: fc.constant([] as number[]),
      timings: fc.record({ queueUs: u32, decodeUs: u32, computeUs: u32 }),
      batchSize: fc.integer({ min: 1, max: 256 }),
    }),
  ),
  fc.record({ type: fc.constant('error' as const), id: text(40), code: fc.constantFrom<WireErrorCode>(...ERROR_CODES.filter(isWireErrorCode)), message: text(200), retryAfterMs: u32 }),
);

describe('frame round trip (property)', () => {
  it('decode(encode(m)) equals m for random valid envelopes', () => {
    fc.assert(
      fc.property(message, (m) => {
        const r = decodeFrame(encodeFrame(m));
        if (!r.ok) throw r.error;
        const got = r.message.type === 'inferRequest' ? { ...r.message, raw: Uint8Array.from(r.message.raw) } : r.message;
        expect(got).toEqual(m);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodeFrame never throws on random bytes and answers with a known code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => {
        const r = decodeFrame(b);
        if (!r.ok) expect(ERROR_CODES).toContain(r.error.code);
      }),
      { numRuns: 20_000 },
    );
  });

  it('decodeFrame never throws on single-byte mutations of valid frames', () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 0, max: 255 }), (m, at, value) => {
        const frame = Uint8Array.from(encodeFrame(m));
        frame[at % frame.length] = value;
        const r = decodeFrame(frame);
        if (!r.ok) expect(ERROR_CODES).toContain(r.error.code);
      }),
      { numRuns: 5000 },
    );
  });
});
