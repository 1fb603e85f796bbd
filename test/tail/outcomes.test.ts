/**
 * docs/PROTOCOL.md §9: every request whose id could be read ends in exactly one Answer or one
 * Error with that id: duplicates, frames that do not decode, frames that are not requests,
 * frames over the limit, and retries with a device_id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { encodeFrame } from '../../protocol/index.js';
import type { EdgeServer } from '../../tail/index.js';
import { answerOf, barrier, connect, edges, errorOf, loadBundle, metric, splitRequest, TINY, tinyGolden, type Golden, type TestClient } from './client.js';

let bundle: LoadedBundle;
let golden: Golden;
const pool = edges();
let server: EdgeServer;
/** An edge whose batcher holds a request for up to 10 s unless 2 fill a batch: "in flight" for as long as a test needs. */
let holding: EdgeServer;

beforeAll(async () => {
  [bundle, golden] = await Promise.all([loadBundle(TINY), tinyGolden()]);
  [server, holding] = await Promise.all([pool.start(), pool.start({ maxBatch: 2, maxQueueDelayUs: 10_000_000 })]);
});
afterAll(() => pool.closeAll());

/** The frame of a valid split request. */
const requestFrame = (id: number, sample = 0): Uint8Array => encodeFrame({ type: 'request', request: splitRequest(bundle, id, golden.latent[sample]!, 0) });

/** Sends a request that fills the held batch, waits for both answers; then nothing more can come for ids before it. */
async function flush(c: TestClient, id: number): Promise<void> {
  expect((await c.call(splitRequest(bundle, id, golden.latent[1]!, 0))).type).toBe('answer');
  await barrier(c, id + 1);
}

describe('the same id twice while in flight (§9.1)', () => {
  it('ends the id once, with DUPLICATE_ID; the first request is not answered after it', async () => {
    const { c } = await connect(holding.url, bundle);
    c.request(splitRequest(bundle, 7, golden.latent[0]!, 0)); // held in the batcher
    c.request(splitRequest(bundle, 7, golden.latent[2]!, 0));
    expect(errorOf(await c.outcome(7))).toMatchObject({ id: 7, name: 'DUPLICATE_ID', message: 'request id 7 was sent again while in flight; both end here' });
    await flush(c, 8);
    expect(c.outcomesOf(7)).toHaveLength(1);
    // Once ended, the id is free again.
    c.request(splitRequest(bundle, 7, golden.latent[0]!, 0));
    await flush(c, 10);
    expect(c.outcomesOf(7).map((m) => m.type)).toEqual(['error', 'answer']);
    c.close();
  });

  it('scopes ids to the connection: two connections may use the same id at once', async () => {
    const [{ c: a }, { c: b }] = await Promise.all([connect(holding.url, bundle), connect(holding.url, bundle)]);
    a.request(splitRequest(bundle, 1, golden.latent[0]!, 0));
    b.request(splitRequest(bundle, 1, golden.latent[1]!, 0)); // with a's, fills the batch
    const [ra, rb] = await Promise.all([a.outcome(1), b.outcome(1)]);
    expect([answerOf(ra).label, answerOf(rb).label]).toEqual([9, 2]);
    a.close();
    b.close();
  });
});

describe('frames that cannot be decoded (§9.2)', () => {
  it('BAD_REQUEST carrying the id of a truncated request', async () => {
    const { c } = await connect(server.url, bundle);
    const f = requestFrame(5);
    for (const cut of [6, 10, f.length - 1]) {
      c.sendRaw(f.subarray(0, cut));
      expect(errorOf(await c.outcome(5))).toMatchObject({ id: 5, name: 'BAD_REQUEST', message: expect.stringMatching(/^malformed frame: /) as unknown });
    }
    expect((await c.call(splitRequest(bundle, 6, golden.latent[0]!, 0))).type).toBe('answer');
    c.close();
  });

  it('a truncated frame naming an id in flight ends that id: one outcome', async () => {
    const { c } = await connect(holding.url, bundle);
    c.request(splitRequest(bundle, 3, golden.latent[0]!, 0));
    c.sendRaw(requestFrame(3).subarray(0, 8));
    expect(errorOf(await c.outcome(3))).toMatchObject({ id: 3, name: 'BAD_REQUEST' });
    await flush(c, 4);
    expect(c.outcomesOf(3)).toHaveLength(1);
    c.close();
  });

  it('id 0 when no id can be read; the connection stays open', async () => {
    const { c } = await connect(server.url, bundle);
    for (const junk of [[0x1a], [0x1a, 0xff], [0x1a, 0x05, 0x10, 0x01], [0x1a, 0x02, 0x08, 0x00]]) {
      c.sendRaw(Uint8Array.from(junk));
      expect(errorOf(await c.next())).toMatchObject({ id: 0, name: 'BAD_REQUEST' });
    }
    expect((await c.call(splitRequest(bundle, 1, golden.latent[0]!, 0))).type).toBe('answer');
    c.close();
  });

  it('a frame after the Hello that is not a Request is BAD_REQUEST id 0, before any field is read', async () => {
    const { c } = await connect(server.url, bundle);
    // An Answer whose fields are invalid too (id 0, confidence 300): the direction is what is refused.
    const frames = [
      encodeFrame({ type: 'answer', answer: { id: 0, confidence: 300 } }),
      encodeFrame({ type: 'answer', answer: { id: 9, label: 1 } }),
      encodeFrame({ type: 'error', error: { id: 9, code: 7 } }),
      encodeFrame({ type: 'helloAck', helloAck: {} }),
      Uint8Array.from([0xff, 0xff, 0xff]),
    ];
    for (const f of frames) {
      c.sendRaw(f);
      expect(errorOf(await c.next())).toMatchObject({ id: 0, name: 'BAD_REQUEST', message: 'after the Hello a device sends only Request frames' });
    }
    c.sendRaw('{"id": 1}');
    expect(errorOf(await c.next())).toMatchObject({ id: 0, name: 'BAD_REQUEST', message: 'text frames are not part of the protocol; send binary frames' });
    expect((await c.call(splitRequest(bundle, 1, golden.latent[0]!, 0))).type).toBe('answer');
    c.close();
  });
});

describe('frames over max_frame_bytes (§9.4)', () => {
  it('TOO_LARGE with the request id between the limit and twice it; the connection stays open', async () => {
    const { c, ack } = await connect(server.url, bundle);
    const max = ack.limits.maxFrameBytes;
    for (const [id, size] of [
      [1, max + 1],
      [2, 2 * max - 16],
    ] as const) {
      const f = encodeFrame({ type: 'request', request: { id, payload: new Uint8Array(size - 8) } });
      expect(f.length).toBeGreaterThan(max);
      expect(f.length).toBeLessThanOrEqual(2 * max);
      c.sendRaw(f);
      expect(errorOf(await c.outcome(id))).toMatchObject({ id, name: 'TOO_LARGE', message: `frame of ${f.length} bytes exceeds the limit of ${max}` });
    }
    expect((await c.call(splitRequest(bundle, 3, golden.latent[0]!, 0))).type).toBe('answer');
    c.close();
  });

  it('a frame over the limit naming an id in flight ends that id: one outcome', async () => {
    const { c, ack } = await connect(holding.url, bundle);
    c.request(splitRequest(bundle, 4, golden.latent[0]!, 0));
    c.send({ type: 'request', request: { id: 4, payload: new Uint8Array(ack.limits.maxFrameBytes) } });
    expect(errorOf(await c.outcome(4))).toMatchObject({ id: 4, name: 'TOO_LARGE' });
    await flush(c, 5);
    expect(c.outcomesOf(4)).toHaveLength(1);
    c.close();
  });

  it('closes with 1009 beyond twice the limit', async () => {
    const { c, ack } = await connect(server.url, bundle);
    c.sendRaw(encodeFrame({ type: 'request', request: { id: 1, payload: new Uint8Array(2 * ack.limits.maxFrameBytes) } }));
    expect((await c.closed).code).toBe(1009);
  });
});

describe('retries with a device_id (§9.3)', () => {
  const deviceA = new Uint8Array(16).fill(0xa);
  const deviceB = new Uint8Array(16).fill(0xb);

  it('answers a retried id after a reconnect from the first execution: computed once, the same answer', async () => {
    // Batches of 2 with a long wait: the first request sits in the queue until a second arrives.
    const s = await pool.start({ maxBatch: 2, maxQueueDelayUs: 10_000_000 });
    const { c: first } = await connect(s.url, bundle, { deviceId: deviceA });
    first.request(splitRequest(bundle, 1, golden.latent[0]!, 0, { want: 1 }));
    await barrier(first, 99);
    first.ws.terminate(); // the link drops with id 1 queued
    await first.closed;
    const { c: second } = await connect(s.url, bundle, { deviceId: deviceA });
    second.request(splitRequest(bundle, 1, golden.latent[0]!, 0, { want: 1 })); // the retry joins the queued execution
    second.request(splitRequest(bundle, 2, golden.latent[1]!, 0, { want: 1 })); // and fills the batch
    const [r1, r2] = (await Promise.all([second.outcome(1), second.outcome(2)])).map(answerOf);
    expect([r1!.label, r2!.label, r1!.timings?.batchSize]).toEqual([9, 2, 2]);
    // Once more on a third connection: straight from the window, identical, nothing computed.
    const { c: third } = await connect(s.url, bundle, { deviceId: deviceA });
    expect(answerOf(await third.call(splitRequest(bundle, 1, golden.latent[0]!, 0, { want: 1 })))).toEqual(r1);
    expect(await metric(s, /^offramp_batch_size_sum (\d+)/m)).toBe(2);
    expect(await metric(s, /^offramp_requests_total\{outcome="dedup"\} (\d+)/m)).toBe(1);
    // The same id with another payload is a device bug, not a retry.
    expect(errorOf(await third.call(splitRequest(bundle, 1, golden.latent[3]!, 0, { want: 1 })))).toMatchObject({
      id: 1,
      name: 'DUPLICATE_ID',
      message: 'request id 1 was used by this device for a different request',
    });
    second.close();
    third.close();
  });

  it('scopes ids to the device, or to the connection without one', async () => {
    const s = await pool.start();
    const clients = await Promise.all(
      [deviceA, deviceB, undefined, undefined].map(async (deviceId) => (await connect(s.url, bundle, deviceId ? { deviceId } : {})).c),
    );
    const outcomes = await Promise.all(clients.map((c) => c.call(splitRequest(bundle, 1, golden.latent[2]!, 0))));
    expect(outcomes.map((o) => answerOf(o).label)).toEqual([1, 1, 1, 1]);
    expect(await metric(s, /^offramp_batch_size_sum (\d+)/m)).toBe(4);
    for (const c of clients) c.close();
  });
});
