import { describe, expect, it } from 'vitest';
import { offramp } from '../../protocol/generated/offramp.js';
import { decodeFrame, encodeFrame, resolveFrameLimits, OfframpError, type Message } from '../../protocol/index.js';
import { errorMessage, hello, helloAck, inferRequest, inferResponse } from './messages.fixture.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const pb = offramp.v1;

/** Encodes a raw (possibly invalid) envelope with the generated code, bypassing validation. */
const rawFrame = (env: offramp.v1.Envelope.$Properties): Uint8Array => pb.Envelope.encode(env).finish();

const validRequest = (): offramp.v1.InferRequest.$Properties => ({
  id: 'r7',
  tensor: { name: 'features', datatype: 'FP32', shape: [1, 2, 2], raw: Uint8Array.from([0x21, 0x43]) },
  quantization: { bits: 4, scale: [0.5], zeroPoint: [0], axis: 0 },
  codec: pb.Codec.CODEC_NONE,
  uncompressedBytes: 2,
  graph: pb.Graph.GRAPH_TAIL,
});

function expectError(frame: Uint8Array, code: string, message?: RegExp, requestId?: string): OfframpError {
  const r = decodeFrame(frame);
  if (r.ok) throw new Error(`expected ${code}, decoded ${JSON.stringify(r.message)}`);
  expect(r.error).toBeInstanceOf(OfframpError);
  expect(r.error.code).toBe(code);
  if (message) expect(r.error.message).toMatch(message);
  expect(r.error.requestId).toBe(requestId);
  return r.error;
}

describe('encodeFrame / decodeFrame: pinned frames', () => {
  // Each frame is the canonical proto3 encoding (defaults omitted). The Error frame is worked by
  // hand: 2a=field 5 LEN, 0e=14 bytes; 0a 02 "r1"; 10 07 (QUEUE_FULL); 1a 04 "full"; 20 32 (50).
  const cases: [string, Message, string][] = [
    ['Hello', hello, '0a680801120373646b1a05302e312e30224f0a0474696e791205302e312e301a40' + '6162'.repeat(32) + '2a0201023203020408'],
    ['HelloAck', helloAck, '126b0801124f0a0474696e791205302e312e301a40' + '6162'.repeat(32) + '1a01022201042a0808808004102018103206656467652d31'],
    ['InferRequest', inferRequest, '1a460a02723112190a0866656174757265731204465033321a03010202220221431a18080412080000003f0000803e1a0800000000000000412001200128023d0000003f40644801'],
    ['InferResponse', inferResponse, '221b0a02723110011a080000803e0000403f2a07080a101418ac023002'],
    ['Error', errorMessage, '2a0e0a02723110071a0466756c6c2032'],
  ];
  for (const [name, message, expected] of cases) {
    it(`encodes ${name} to the pinned bytes`, () => {
      expect(hex(encodeFrame(message))).toBe(expected);
    });
    it(`decodes the pinned ${name} bytes back to the message`, () => {
      const r = decodeFrame(bytes(expected));
      expect(r.ok).toBe(true);
      if (r.ok) expect({ ...r.message, ...('raw' in r.message ? { raw: Uint8Array.from(r.message.raw) } : {}) }).toEqual(message);
    });
  }

  it('decodes the raw tensor bytes as a view of the frame (no copy)', () => {
    const frame = encodeFrame(inferRequest);
    const r = decodeFrame(frame);
    expect(r.ok && r.message.type === 'inferRequest' && r.message.raw.buffer === frame.buffer).toBe(true);
  });
});

describe('decodeFrame: hostile input gets a typed error', () => {
  it('refuses an empty frame', () => {
    expectError(new Uint8Array(0), 'BAD_REQUEST', /^frame holds no message$/);
  });

  it('refuses every truncation of a valid frame', () => {
    const frame = encodeFrame(inferRequest);
    for (let n = 1; n < frame.length; n++) expectError(frame.subarray(0, n), 'BAD_REQUEST', /^malformed frame: /);
  });

  it('refuses a length prefix longer than the frame', () => {
    expectError(bytes('1aff01' + '00'.repeat(10)), 'BAD_REQUEST', /^malformed frame: index out of range/);
  });

  it('refuses deeply nested groups without overflowing the stack', () => {
    const depth = 100_000;
    const frame = new Uint8Array(depth * 2);
    frame.fill(0x7b, 0, depth); // field 15, start group
    frame.fill(0x7c, depth); // field 15, end group
    expectError(frame, 'BAD_REQUEST', /max depth exceeded/);
  });

  it('refuses a frame over maxFrameBytes before decoding it', () => {
    const limits = resolveFrameLimits({ maxFrameBytes: 16 });
    const r = decodeFrame(encodeFrame(inferRequest), limits);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe('frame of 72 bytes exceeds the limit of 16');
  });

  it('refuses absurd shapes: 1e12 elements as TOO_LARGE, negative and zero dims as BAD_REQUEST', () => {
    const big = validRequest();
    big.tensor!.shape = [1e12];
    expectError(rawFrame({ inferRequest: big }), 'TOO_LARGE', /^tensor \[1000000000000\] exceeds the limit of 4194304 elements$/, 'r7');
    const product = validRequest();
    product.tensor!.shape = [65536, 65536];
    expectError(rawFrame({ inferRequest: product }), 'TOO_LARGE', /exceeds the limit/, 'r7');
    for (const dims of [[-1, 4], [0, 4]]) {
      const r = validRequest();
      r.tensor!.shape = dims;
      expectError(rawFrame({ inferRequest: r }), 'BAD_REQUEST', new RegExp(`^tensor dims must be positive integers, got ${dims[0]}$`), 'r7');
    }
    const deep = validRequest();
    deep.tensor!.shape = [1, 1, 1, 1, 1, 1, 1, 1, 4];
    expectError(rawFrame({ inferRequest: deep }), 'BAD_REQUEST', /^tensor rank must be 1..8, got 9$/, 'r7');
  });

  it('refuses unknown enum values', () => {
    const codec = validRequest();
    codec.codec = 7 as offramp.v1.Codec;
    expectError(rawFrame({ inferRequest: codec }), 'UNSUPPORTED_CODEC', /^codec 7 is not supported \(none, zstd\)$/, 'r7');
    const unset = validRequest();
    delete unset.codec;
    expectError(rawFrame({ inferRequest: unset }), 'UNSUPPORTED_CODEC', /^codec 0 is not supported/, 'r7');
    const graph = validRequest();
    graph.graph = 9 as offramp.v1.Graph;
    expectError(rawFrame({ inferRequest: graph }), 'BAD_REQUEST', /^graph 9 is not a known graph/, 'r7');
  });

  it('keeps an unknown error code as INTERNAL so the request still ends', () => {
    const r = decodeFrame(rawFrame({ error: { id: 'r9', code: 99 as offramp.v1.ErrorCode, message: 'new' } }));
    expect(r.ok && r.message).toEqual({ type: 'error', id: 'r9', code: 'INTERNAL', message: 'unknown error code 99: new', retryAfterMs: 0 });
  });

  it('ignores unknown codecs in a Hello (a newer peer may offer more)', () => {
    const r = decodeFrame(rawFrame({ hello: { protocolVersion: 1, bundle: hello.bundle, codecs: [1, 42, 2, 1] as offramp.v1.Codec[] } }));
    expect(r.ok && r.message.type === 'hello' && r.message.codecs).toEqual(['none', 'zstd']);
  });

  it('refuses bad bit widths and quantization parameters', () => {
    const cases: [(r: offramp.v1.InferRequest.$Properties) => void, string, RegExp][] = [
      [(r) => { r.quantization!.bits = 9; }, 'BAD_REQUEST', /^quantization.bits must be 1..8, 16 or 32, got 9$/],
      [(r) => { r.quantization!.bits = 0; }, 'BAD_REQUEST', /got 0$/],
      [(r) => { r.quantization = { bits: 16, scale: [1] }; r.uncompressedBytes = 8; }, 'BAD_REQUEST', /^float16 tensors carry no scale/],
      [(r) => { r.quantization!.scale = [1, 2, 3]; }, 'SHAPE_MISMATCH', /^quantization.scale has 3 entries; expected 1 \(dim 0\)$/],
      [(r) => { r.quantization!.zeroPoint = []; }, 'SHAPE_MISMATCH', /^quantization.zero_point has 0 entries; expected 1$/],
      [(r) => { r.quantization!.scale = [0]; }, 'BAD_REQUEST', /^quantization.scale must be finite and positive, got 0$/],
      [(r) => { r.quantization!.scale = [NaN]; }, 'BAD_REQUEST', /got NaN$/],
      [(r) => { r.quantization!.zeroPoint = [Infinity]; }, 'BAD_REQUEST', /^quantization.zero_point must be finite/],
      [(r) => { r.quantization!.scale = [3e38]; r.quantization!.zeroPoint = [1e3]; }, 'BAD_REQUEST', /overflows float32$/],
      [(r) => { r.quantization!.axis = 3; }, 'BAD_REQUEST', /^quantization.axis 3 is outside/],
      [(r) => { r.uncompressedBytes = 3; }, 'BAD_REQUEST', /^uncompressed_bytes 3 does not match \[1, 2, 2\] at 4 bits \(expected 2\)$/],
      [(r) => { r.tensor!.raw = Uint8Array.from([1]); }, 'BAD_REQUEST', /^tensor.raw has 1 bytes; uncompressed_bytes says 2$/],
      [(r) => { r.codec = pb.Codec.CODEC_ZSTD; }, 'BAD_REQUEST', /^zstd payload of 2 bytes must be non-empty and smaller/],
      [(r) => { r.tensor!.datatype = 'INT8'; }, 'BAD_REQUEST', /^tensor.datatype "INT8" is not supported/],
      [(r) => { r.tensor!.name = ''; }, 'BAD_REQUEST', /^tensor.name is required$/],
      [(r) => { r.exitIndex = -2; }, 'BAD_REQUEST', /^exit_index must be -1/],
      [(r) => { r.exitConfidence = 1.5; }, 'BAD_REQUEST', /^exit_confidence must be in \[0, 1\], got 1.5$/],
      [(r) => { delete r.tensor; }, 'BAD_REQUEST', /^tensor is required$/],
      [(r) => { delete r.quantization; }, 'BAD_REQUEST', /^quantization is required$/],
    ];
    for (const [mutate, code, message] of cases) {
      const r = validRequest();
      mutate(r);
      expectError(rawFrame({ inferRequest: r }), code, message, 'r7');
    }
  });

  it('refuses a request without an id, with no request id on the error', () => {
    const r = validRequest();
    r.id = '';
    expectError(rawFrame({ inferRequest: r }), 'BAD_REQUEST', /^id is required$/, undefined);
  });

  it('refuses a Hello with a malformed manifest hash', () => {
    expectError(rawFrame({ hello: { protocolVersion: 1, bundle: { id: 'a', version: '1', manifestSha256: 'XYZ' } } }), 'BAD_REQUEST', /^bundle.manifest_sha256 must be 64 lower-case hex characters$/);
  });

  it('refuses a response whose label is outside its scores', () => {
    expectError(rawFrame({ inferResponse: { id: 'q', label: 5, scores: [1], batchSize: 1 } }), 'BAD_REQUEST', /^label 5 is outside the 1 scores$/, 'q');
  });
});

describe('encodeFrame: refuses invalid messages', () => {
  it('throws OfframpError naming the field', () => {
    expect(() => encodeFrame({ ...inferRequest, raw: new Uint8Array(5) })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', requestId: 'r1', message: 'tensor.raw has 5 bytes; uncompressed_bytes says 2' }),
    );
    expect(() => encodeFrame({ ...errorMessage, retryAfterMs: -1 })).toThrow(/retry_after_ms must be an integer/);
  });
});
