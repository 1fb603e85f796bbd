/**
 * docs/PROTOCOL.md §4 and §6: the checks on a request, in their documented order, and the codecs'
 * limits as the edge enforces them. Each check's answer names the request's id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFloat16, loadZstdWasm, maxPayloadBytes, type ZstdBackend } from '../../bottleneck/index.js';
import { rleFrame } from '../../bench/reliability/hostile.js';
import { encodeFrame, pb, type RequestInit } from '../../protocol/index.js';
import type { LoadedBundle } from '../../protocol/bundle.js';
import type { EdgeServer } from '../../tail/index.js';
import {
  answerOf,
  barrier,
  connect,
  edges,
  errorOf,
  featurePayload,
  fullRequest,
  loadBundle,
  metric,
  ratePointsOf,
  splitRequest,
  TINY,
  tinyGolden,
  type Golden,
} from './client.js';

let bundle: LoadedBundle;
let golden: Golden;
let zstd: ZstdBackend;
let server: EdgeServer;
const pool = edges();
/** 2·7·7 features. */
const N = 98;

beforeAll(async () => {
  [bundle, golden, zstd] = await Promise.all([loadBundle(TINY), tinyGolden(), loadZstdWasm()]);
  server = await pool.start();
});
afterAll(() => pool.closeAll());

describe('request fields (§4)', () => {
  it('BAD_REQUEST id 0 for a request without an id', async () => {
    const { c } = await connect(server.url, bundle);
    c.request({ payload: featurePayload(bundle, golden.latent[0]!, 0).payload });
    expect(errorOf(await c.next())).toMatchObject({ id: 0, name: 'BAD_REQUEST', message: 'id is required (1 .. 2^32 - 1)' });
    c.close();
  });

  it('answers ids up to 2^32 - 1, echoed', async () => {
    const { c } = await connect(server.url, bundle);
    expect(answerOf(await c.call(splitRequest(bundle, 0xffffffff, golden.latent[0]!, 0))).id).toBe(0xffffffff);
    c.close();
  });

  it('BAD_REQUEST with the id for an unknown graph, unknown want bits, top_k over 1024', async () => {
    const { c } = await connect(server.url, bundle);
    const ok = splitRequest(bundle, 1, golden.latent[0]!, 0);
    expect(errorOf(await c.call({ ...ok, id: 1, graph: 2 as RequestInit['graph'] }))).toMatchObject({
      id: 1,
      name: 'BAD_REQUEST',
      message: 'graph 2 is not a known value',
    });
    expect(errorOf(await c.call({ ...ok, id: 2, want: 8 }))).toMatchObject({ id: 2, name: 'BAD_REQUEST', message: 'want 8 sets unknown flags (known: 7)' });
    expect(errorOf(await c.call({ ...ok, id: 3, topK: 1025 }))).toMatchObject({ id: 3, name: 'BAD_REQUEST', message: 'top_k 1025 is more than 1024' });
    expect(answerOf(await c.call({ ...ok, id: 4, topK: 1024, want: 7 })).topLabels).toHaveLength(10);
    c.close();
  });

  it('UNSUPPORTED_CODEC for a zstd payload when zstd was not agreed', async () => {
    const { c, ack } = await connect(server.url, bundle, { zstd: false });
    expect(ack.zstd).toBe(false);
    const r = splitRequest(bundle, 1, golden.latent[0]!, 2, {}, zstd);
    expect(r.zstd).toBe(true);
    expect(errorOf(await c.call(r))).toMatchObject({ id: 1, name: 'UNSUPPORTED_CODEC', message: 'zstd payloads were not agreed in the handshake' });
    c.close();
  });

  it('takes deadline_ms up to max_deadline_ms (a larger one is capped, not refused)', async () => {
    const { c } = await connect(server.url, bundle);
    expect((await c.call(splitRequest(bundle, 1, golden.latent[0]!, 0, { deadlineMs: 0xffffffff }))).type).toBe('answer');
    c.close();
  });
});

describe('the checks run in the documented order (§4)', () => {
  // id in flight → draining → window → zstd agreed → rate agreed → payload size → queue room → payload decodes.
  let s: EdgeServer;
  beforeAll(async () => {
    // One request fills the tail queue and waits there (a batch of 32 or 10 s): the window is 2.
    s = await pool.start({ maxQueue: 1, maxInFlight: 2, maxQueueDelayUs: 10_000_000 });
  });

  it('window before zstd, zstd before rate, rate before size, size before queue, queue before decoding', async () => {
    const { c } = await connect(s.url, bundle, { zstd: false, ratePoints: [0, 1] });
    c.request(splitRequest(bundle, 1, golden.latent[0]!, 1)); // queued: the tail queue is full now
    const short = new Uint8Array(48); // u4 needs exactly 49 bytes: undecodable
    const long = new Uint8Array(50); // more than u4 can produce
    const full = errorOf(await c.call({ id: 2, rate: 1, payload: short }));
    expect(full).toMatchObject({ name: 'QUEUE_FULL', message: 'queue for tiny@0.2.0/tail holds 1 requests' });
    expect(full.retryAfterMs).toBeGreaterThanOrEqual(1);
    expect(errorOf(await c.call({ id: 3, rate: 1, payload: long }))).toMatchObject({
      name: 'TOO_LARGE',
      message: 'payload of 50 bytes is larger than rate point 1 can produce (49)',
    });
    expect(errorOf(await c.call({ id: 4, rate: 2, payload: long }))).toMatchObject({
      name: 'BAD_REQUEST',
      message: 'rate point 2 was not agreed in the handshake (agreed: 0, 1)',
    });
    expect(errorOf(await c.call({ id: 5, rate: 2, payload: long, zstd: true }))).toMatchObject({ name: 'UNSUPPORTED_CODEC' });
    c.request(fullRequest(bundle, 6, golden.images[0]!, 0)); // the second in flight (the full graph's queue)
    expect(errorOf(await c.call({ id: 7, rate: 2, payload: long, zstd: true }))).toMatchObject({
      name: 'TOO_MANY_IN_FLIGHT',
      message: '2 requests in flight; the limit is 2',
    });
    // The id in flight comes first of all.
    expect(errorOf(await c.call({ id: 6, rate: 2, payload: long, zstd: true }))).toMatchObject({ name: 'DUPLICATE_ID' });
    c.close();
  });
});

describe('payloads (§6, §7)', () => {
  let c: Awaited<ReturnType<typeof connect>>['c'];
  beforeAll(async () => {
    ({ c } = await connect(server.url, bundle, { zstd: true }));
  });
  afterAll(() => c.close());

  it('entropy: an empty payload is valid (every symbol certain)', async () => {
    expect((await c.call({ id: 1, rate: 0, payload: new Uint8Array(0) })).type).toBe('answer');
  });

  it('entropy: up to ⌈C·H·W·17 / 8⌉ + 8 bytes decode to in-support symbols; one more byte is TOO_LARGE', async () => {
    const max = Math.ceil((N * 17) / 8) + 8;
    expect(maxPayloadBytes(bundle.manifest.bottleneck.shape, ratePointsOf(bundle)[0]!)).toBe(max);
    const bytes = Uint8Array.from({ length: max }, (_, i) => (i * 151 + 7) & 0xff);
    expect((await c.call({ id: 2, rate: 0, payload: bytes })).type).toBe('answer');
    expect(errorOf(await c.call({ id: 3, rate: 0, payload: new Uint8Array(max + 1) }))).toMatchObject({
      id: 3,
      name: 'TOO_LARGE',
      message: `payload of ${max + 1} bytes is larger than rate point 0 can produce (${max})`,
    });
  });

  it('entropy: a zstd-wrapped payload is BAD_REQUEST even with zstd agreed', async () => {
    const p = featurePayload(bundle, golden.latent[0]!, 0).payload;
    expect(errorOf(await c.call({ id: 4, rate: 0, payload: p, zstd: true }))).toMatchObject({
      id: 4,
      name: 'BAD_REQUEST',
      message: 'entropy-coded payloads are never zstd-wrapped',
    });
  });

  it('uniform: exactly ⌈n·b/8⌉ bytes; fewer is BAD_REQUEST, more TOO_LARGE', async () => {
    expect((await c.call({ id: 5, rate: 1, payload: new Uint8Array(49) })).type).toBe('answer');
    expect(errorOf(await c.call({ id: 6, rate: 1, payload: new Uint8Array(48) }))).toMatchObject({
      id: 6,
      name: 'BAD_REQUEST',
      message: 'payload has 48 bytes; expected 49',
    });
    expect(errorOf(await c.call({ id: 7, rate: 1, payload: new Uint8Array(50) }))).toMatchObject({ id: 7, name: 'TOO_LARGE' });
  });

  it('float16: non-finite values are BAD_REQUEST', async () => {
    for (const [k, bad] of [
      [8, NaN],
      [9, Infinity],
      [10, -Infinity],
    ] as const) {
      const x = new Float32Array(N);
      x[17] = bad;
      expect(errorOf(await c.call({ id: k, rate: 2, payload: encodeFloat16(x) }))).toMatchObject({
        id: k,
        name: 'BAD_REQUEST',
        message: `feature value 17 is not finite (${bad})`,
      });
    }
  });

  it('zstd (§6.4): a frame of the exact size decodes; claiming more is TOO_LARGE, less or nothing BAD_REQUEST, not smaller BAD_REQUEST', async () => {
    const coded = encodeFloat16(new Float32Array(N));
    expect((await c.call({ id: 11, rate: 2, payload: zstd.compress(coded, 3), zstd: true })).type).toBe('answer');
    // 17 bytes claiming 256 MiB: refused from the header, nothing allocated.
    expect(errorOf(await c.call({ id: 12, rate: 2, payload: rleFrame(256 * 1024 * 1024, 1024), zstd: true }))).toMatchObject({
      id: 12,
      name: 'TOO_LARGE',
      message: 'zstd frame claims 268435456 bytes; the declared tensor holds 196',
    });
    expect(errorOf(await c.call({ id: 13, rate: 2, payload: rleFrame(100, 100), zstd: true }))).toMatchObject({
      id: 13,
      name: 'BAD_REQUEST',
      message: 'zstd frame holds 100 bytes; the declared tensor holds 196',
    });
    // Claims the right size, produces more: fails inside the cap.
    expect(errorOf(await c.call({ id: 14, rate: 2, payload: rleFrame(196, 1000), zstd: true }))).toMatchObject({ id: 14, name: 'BAD_REQUEST' });
    const notSmaller = new Uint8Array(196);
    notSmaller.set(rleFrame(196, 196));
    expect(errorOf(await c.call({ id: 15, rate: 2, payload: notSmaller, zstd: true }))).toMatchObject({
      id: 15,
      name: 'BAD_REQUEST',
      message: 'zstd payload of 196 bytes is not smaller than the 196 it decodes to',
    });
    expect(errorOf(await c.call({ id: 16, rate: 2, payload: Uint8Array.of(1, 2, 3, 4, 5, 6, 7), zstd: true }))).toMatchObject({
      id: 16,
      name: 'BAD_REQUEST',
      message: 'payload is not a zstd frame (bad magic number)',
    });
  });

  it('raw input: exactly the sample bytes; fewer is BAD_REQUEST, more TOO_LARGE', async () => {
    expect(errorOf(await c.call({ id: 17, graph: pb.Graph.GRAPH_FULL, payload: new Uint8Array(783) }))).toMatchObject({
      id: 17,
      name: 'BAD_REQUEST',
      message: 'payload has 783 bytes; expected 784',
    });
    expect(errorOf(await c.call({ id: 18, graph: pb.Graph.GRAPH_FULL, payload: new Uint8Array(785) }))).toMatchObject({
      id: 18,
      name: 'TOO_LARGE',
      message: 'payload of 785 bytes is larger than input encoding 0 can produce',
    });
  });
});

describe('deadlines (§9.5)', () => {
  it('DEADLINE_EXCEEDED for a request whose deadline passes while queued, and it is not computed', async () => {
    const s = await pool.start({ maxQueueDelayUs: 200_000 });
    const { c } = await connect(s.url, bundle);
    expect(errorOf(await c.call(splitRequest(bundle, 1, golden.latent[0]!, 0, { deadlineMs: 5 })))).toMatchObject({
      id: 1,
      name: 'DEADLINE_EXCEEDED',
      message: 'the deadline passed while the request was queued; it was not computed',
    });
    expect(await metric(s, /^offramp_batch_size_count (\d+)/m)).toBe(0);
    c.close();
  });

  it("applies the Hello's deadline_ms to requests that carry none; a request's own deadline wins", async () => {
    const s = await pool.start({ maxQueueDelayUs: 200_000 });
    const { c } = await connect(s.url, bundle, { deadlineMs: 5 });
    c.request(splitRequest(bundle, 2, golden.latent[0]!, 0, { deadlineMs: 10_000 }));
    expect(errorOf(await c.call(splitRequest(bundle, 1, golden.latent[0]!, 0)))).toMatchObject({ id: 1, name: 'DEADLINE_EXCEEDED' });
    expect((await c.outcome(2)).type).toBe('answer');
    c.close();
  });
});

describe('a request frame as the §4 example', () => {
  it('is 36 bytes at 2 bytes of id, 30 bytes of payload and rate 0: 1a 22 08 01 12 1e <30 bytes>', async () => {
    const payload = Uint8Array.from({ length: 30 }, (_, i) => i);
    const f = encodeFrame({ type: 'request', request: { id: 1, payload } });
    expect(Buffer.from(f).toString('hex')).toBe(`1a22080112 1e${Buffer.from(payload).toString('hex')}`.replace(' ', ''));
    expect(f.length).toBe(36);
    const { c } = await connect(server.url, bundle);
    // Any 30 bytes are an entropy payload (rate 0): the edge answers it.
    c.sendRaw(f);
    expect((await c.outcome(1)).type).toBe('answer');
    await barrier(c, 2);
    c.close();
  });
});
