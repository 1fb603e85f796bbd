/**
 * docs/PROTOCOL.md §1 and §3: the subprotocol, the Hello and what the HelloAck binds. Every
 * refusal is an Error with id 0, then a close with 1008 and the code's name as the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, pb, type HelloInit, type InputEncodingInit } from '../../protocol/index.js';
import type { LoadedBundle } from '../../protocol/bundle.js';
import type { EdgeServer } from '../../tail/index.js';
import { barrier, connect, edges, errorOf, fullRequest, loadBundle, plainFrame, splitRequest, TestClient, TINY, tinyGolden, type Golden } from './client.js';

let bundle: LoadedBundle;
let golden: Golden;
let server: EdgeServer;
const pool = edges();

beforeAll(async () => {
  [bundle, golden] = await Promise.all([loadBundle(TINY), tinyGolden()]);
  server = await pool.start();
});
afterAll(() => pool.closeAll());

/** Sends a Hello; expects the refusal: Error id 0, then close 1008 with the code as the reason. */
async function refused(over: Partial<HelloInit>, code: string, message: string | RegExp, protocols?: string[]): Promise<void> {
  const c = await TestClient.open(server.url, {}, protocols);
  const e = errorOf(await c.hello(bundle, over));
  expect({ id: e.id, code: e.name }).toEqual({ id: 0, code });
  expect(e.message).toMatch(message);
  expect(await c.closed).toEqual({ code: 1008, reason: code });
}

/** The HelloAck's accepted terms for `over`. */
async function acked(
  over: Partial<HelloInit>,
): Promise<{ ratePoints: number[]; inputEncodings: number[]; zstd: boolean; outputEncoding: number; deadlineMs: number }> {
  const { c, ack } = await connect(server.url, bundle, over);
  c.close();
  return {
    ratePoints: ack.ratePoints,
    inputEncodings: ack.inputEncodings,
    zstd: ack.zstd,
    outputEncoding: ack.outputEncoding,
    deadlineMs: ack.limits.deadlineMs,
  };
}

describe('transport (§1)', () => {
  it('selects the offramp.v2 subprotocol', async () => {
    const c = await TestClient.open(server.url, {}, ['offramp.v2']);
    expect(c.ws.protocol).toBe('offramp.v2');
    c.close();
  });
});

describe('HelloAck (§3)', () => {
  it('binds exactly the documented terms for a Hello that offers everything', async () => {
    const c = await TestClient.open(server.url);
    c.send({
      type: 'hello',
      hello: {
        protocolVersion: 2,
        clientName: 'test',
        bundle: { id: 'tiny', version: bundle.manifest.version, manifestSha256: bundle.manifestSha256 },
        ratePoints: [0, 1, 2],
        inputEncodings: [{ codec: pb.InputCodec.INPUT_RAW }],
      },
    });
    const r = await c.nextFrame();
    expect(plainFrame(r.bytes)).toEqual({
      helloAck: {
        protocolVersion: 2,
        bundle: { id: 'tiny', version: '0.2.0', manifestSha256: bundle.manifestSha256 },
        ratePoints: [0, 1, 2],
        inputEncodings: [0],
        zstd: false,
        outputEncoding: pb.OutputEncoding.OUTPUT_FP32,
        // The largest frame: the raw input as float32 (28·28·4 = 3136 B, over the features' 392) + 4 KiB (§10).
        limits: { maxFrameBytes: 3136 + 4096, maxInFlight: 64, maxBatch: 32, deadlineMs: 10_000, maxDeadlineMs: 60_000, rateLimitPerSecond: 0, rateBurst: 0 },
        serverId: 'edge-test',
      },
    });
    c.close();
  });

  it('announces the operator limits', async () => {
    const s = await pool.start({
      maxInFlight: 7,
      maxBatch: 5,
      defaultDeadlineMs: 900,
      maxDeadlineMs: 2000,
      rateLimitPerSecond: 50,
      rateBurst: 9,
      serverId: 'edge-7',
    });
    const { c, ack } = await connect(s.url, bundle);
    expect(ack.limits).toMatchObject({ maxInFlight: 7, maxBatch: 5, deadlineMs: 900, maxDeadlineMs: 2000, rateLimitPerSecond: 50, rateBurst: 9 });
    expect(ack.serverId).toBe('edge-7');
    c.close();
  });

  it('echoes zstd and the output encoding', async () => {
    expect(await acked({ zstd: true, outputEncoding: pb.OutputEncoding.OUTPUT_INT8 })).toMatchObject({
      zstd: true,
      outputEncoding: pb.OutputEncoding.OUTPUT_INT8,
    });
    expect(await acked({ outputEncoding: pb.OutputEncoding.OUTPUT_FP16 })).toMatchObject({ zstd: false, outputEncoding: pb.OutputEncoding.OUTPUT_FP16 });
  });

  it("takes the Hello's deadline_ms, 0 meaning the edge's default, capped at max_deadline_ms", async () => {
    expect((await acked({ deadlineMs: 0 })).deadlineMs).toBe(10_000);
    expect((await acked({ deadlineMs: 500 })).deadlineMs).toBe(500);
    expect((await acked({ deadlineMs: 120_000 })).deadlineMs).toBe(60_000);
  });
});

describe('rate points and input encodings: the ack is an intersection (§3)', () => {
  it('acks only the rate points offered: [0] acks [0], and a request at rate 1 is BAD_REQUEST', async () => {
    const { c, ack } = await connect(server.url, bundle, { ratePoints: [0] });
    expect(ack.ratePoints).toEqual([0]);
    const e = errorOf(await c.call(splitRequest(bundle, 1, golden.latent[0]!, 1)));
    expect(e).toMatchObject({ id: 1, name: 'BAD_REQUEST', message: 'rate point 1 was not agreed in the handshake (agreed: 0)' });
    expect((await c.call(splitRequest(bundle, 2, golden.latent[0]!, 0))).type).toBe('answer');
    c.close();
  });

  it("drops indices the bundle does not have, keeps the Hello's order and removes duplicates", async () => {
    expect((await acked({ ratePoints: [0, 7] })).ratePoints).toEqual([0]);
    expect((await acked({ ratePoints: [2, 0, 2] })).ratePoints).toEqual([2, 0]);
    expect((await acked({ ratePoints: [2, 3, 0xffffffff] })).ratePoints).toEqual([2]);
  });

  it('acks the input encodings the edge can accept, by their Hello index; a full request at another index is BAD_REQUEST', async () => {
    const inputEncodings = [
      { codec: pb.InputCodec.INPUT_CODEC_UNSPECIFIED },
      { codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 1, bits: 4 }, // factor < 2
      { codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 2, bits: 9 }, // bits > 8
      { codec: pb.InputCodec.INPUT_JPEG, quality: 0 }, // quality < 1
      { codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 2, bits: 4 },
      { codec: pb.InputCodec.INPUT_JPEG, quality: 50 },
      { codec: pb.InputCodec.INPUT_RAW },
    ];
    const { c, ack } = await connect(server.url, bundle, { inputEncodings });
    expect(ack.inputEncodings).toEqual([4, 5, 6]);
    expect((await c.call(fullRequest(bundle, 1, golden.images[0]!, 6))).type).toBe('answer');
    expect(errorOf(await c.call(fullRequest(bundle, 2, golden.images[0]!, 1)))).toMatchObject({
      id: 2,
      name: 'BAD_REQUEST',
      message: 'input encoding 1 was not agreed in the handshake (agreed: 4, 5, 6)',
    });
    c.close();
  });

  it('leaves an input encoding with a codec value it does not know out of the ack (a newer device is not refused, §11)', async () => {
    expect((await acked({ inputEncodings: [{ codec: 9 as InputEncodingInit['codec'] }, { codec: pb.InputCodec.INPUT_RAW }] })).inputEncodings).toEqual([1]);
  });

  it('refuses an empty offer with BAD_REQUEST "nothing to send" (it is not an offer of everything)', async () => {
    await refused({ ratePoints: [], inputEncodings: [] }, 'BAD_REQUEST', /^nothing to send: /);
    await refused({ ratePoints: [9], inputEncodings: [{ codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 1, bits: 1 }] }, 'BAD_REQUEST', /^nothing to send: /);
  });

  it('accepts an offer of input encodings alone', async () => {
    expect(await acked({ ratePoints: [], inputEncodings: [{ codec: pb.InputCodec.INPUT_RAW }] })).toMatchObject({ ratePoints: [], inputEncodings: [0] });
  });
});

describe('refusals (§3)', () => {
  it.each([0, 1, 3, 99])('refuses protocol_version %i with UNSUPPORTED_VERSION, supported_versions [2], then close 1008', async (v) => {
    const c = await TestClient.open(server.url);
    c.send({ type: 'hello', hello: { protocolVersion: v, bundle: { id: 'tiny', version: '0.2.0', manifestSha256: bundle.manifestSha256 }, ratePoints: [0] } });
    const r = await c.nextFrame();
    expect(plainFrame(r.bytes)).toEqual({
      error: {
        id: 0,
        code: pb.ErrorCode.UNSUPPORTED_VERSION,
        message: `protocol version ${v} is not spoken here; supported: 2`,
        retryAfterMs: 0,
        supportedVersions: [2],
      },
    });
    expect(await c.closed).toEqual({ code: 1008, reason: 'UNSUPPORTED_VERSION' });
  });

  it('selects offramp.v1 only to refuse an old client with UNSUPPORTED_VERSION', async () => {
    const c = await TestClient.open(server.url, {}, ['offramp.v1']);
    expect(c.ws.protocol).toBe('offramp.v1');
    // Version 1 with fields this schema cannot decode: the version is read before the rest.
    c.sendRaw(Uint8Array.from([0x0a, 0x04, 0x08, 0x01, 0x12, 0x7f]));
    const e = errorOf(await c.next());
    expect({ id: e.id, code: e.name, supportedVersions: e.supportedVersions }).toEqual({ id: 0, code: 'UNSUPPORTED_VERSION', supportedVersions: [2] });
    expect(await c.closed).toEqual({ code: 1008, reason: 'UNSUPPORTED_VERSION' });
  });

  it('UNKNOWN_MODEL for a bundle it does not serve, MODEL_MISMATCH for another manifest hash', async () => {
    await refused(
      { bundle: { id: 'nope', version: '0.2.0', manifestSha256: 'a'.repeat(64) } },
      'UNKNOWN_MODEL',
      'this edge does not serve nope 0.2.0 (it serves tiny@0.2.0)',
    );
    await refused(
      { bundle: { id: 'tiny', version: '9.9.9', manifestSha256: bundle.manifestSha256 } },
      'UNKNOWN_MODEL',
      /^this edge does not serve tiny 9\.9\.9/,
    );
    await refused(
      { bundle: { id: 'tiny', version: '0.2.0', manifestSha256: 'b'.repeat(64) } },
      'MODEL_MISMATCH',
      `tiny 0.2.0 here has manifest sha256 ${bundle.manifestSha256}, not ${'b'.repeat(64)}`,
    );
  });

  it('BAD_REQUEST for a missing bundle or a manifest_sha256 that is not 64 lower-case hex', async () => {
    await refused({ bundle: undefined }, 'BAD_REQUEST', 'bundle is required');
    await refused(
      { bundle: { id: 'tiny', version: '0.2.0', manifestSha256: bundle.manifestSha256.toUpperCase() } },
      'BAD_REQUEST',
      'bundle.manifest_sha256 must be 64 lower-case hex characters',
    );
    await refused(
      { bundle: { id: 'tiny', version: '0.2.0', manifestSha256: 'ab' } },
      'BAD_REQUEST',
      'bundle.manifest_sha256 must be 64 lower-case hex characters',
    );
  });

  it('BAD_REQUEST for text fields over 128 characters and lists over 64 entries', async () => {
    await refused({ clientName: 'x'.repeat(129) }, 'BAD_REQUEST', 'client_name is longer than 128 characters');
    await refused({ clientVersion: 'x'.repeat(129) }, 'BAD_REQUEST', 'client_version is longer than 128 characters');
    await refused(
      { bundle: { id: 'x'.repeat(129), version: '0.2.0', manifestSha256: bundle.manifestSha256 } },
      'BAD_REQUEST',
      'bundle.id is longer than 128 characters',
    );
    await refused({ ratePoints: Array<number>(65).fill(0) }, 'BAD_REQUEST', 'rate_points lists more than 64 entries');
    await refused({ inputEncodings: Array(65).fill({ codec: pb.InputCodec.INPUT_RAW }) }, 'BAD_REQUEST', 'input_encodings lists more than 64 entries');
    expect((await acked({ clientName: 'x'.repeat(128), ratePoints: Array<number>(64).fill(1) })).ratePoints).toEqual([1]);
  });

  it.each([1, 15, 65])('refuses a device_id of %i bytes with BAD_REQUEST', async (n) => {
    await refused({ deviceId: new Uint8Array(n) }, 'BAD_REQUEST', `device_id must be empty or 16..64 bytes (128 bits or more), got ${n}`);
  });

  it.each([16, 64])('accepts a device_id of %i bytes', async (n) => {
    expect((await acked({ deviceId: new Uint8Array(n).fill(7) })).ratePoints).toEqual([0, 1, 2]);
  });

  it('refuses a first frame that is not a Hello: a Request, a text frame', async () => {
    const a = await TestClient.open(server.url);
    a.request(splitRequest(bundle, 1, golden.latent[0]!, 0));
    expect(errorOf(await a.next())).toMatchObject({ id: 0, name: 'BAD_REQUEST', message: 'the first frame must be a Hello' });
    expect(await a.closed).toEqual({ code: 1008, reason: 'BAD_REQUEST' });
    const b = await TestClient.open(server.url);
    b.sendRaw('hello?');
    expect(errorOf(await b.next())).toMatchObject({ id: 0, name: 'BAD_REQUEST', message: 'text frames are not part of the protocol; send a binary Hello' });
    expect(await b.closed).toEqual({ code: 1008, reason: 'BAD_REQUEST' });
  });

  it('refuses a connection that sends no Hello within helloTimeoutMs', async () => {
    const quick = await pool.start({ helloTimeoutMs: 50 });
    const c = await TestClient.open(quick.url);
    expect(errorOf(await c.next())).toMatchObject({ id: 0, name: 'BAD_REQUEST', message: 'no Hello within 50 ms' });
    expect(await c.closed).toEqual({ code: 1008, reason: 'BAD_REQUEST' });
  });

  it('answers a second Hello after the HelloAck with BAD_REQUEST id 0, and the connection stays open', async () => {
    const { c } = await connect(server.url, bundle);
    c.sendRaw(encodeFrame({ type: 'hello', hello: { protocolVersion: 2 } }));
    expect(errorOf(await c.next())).toMatchObject({ id: 0, name: 'BAD_REQUEST', message: 'after the Hello a device sends only Request frames' });
    await barrier(c, 1);
    c.close();
  });
});
