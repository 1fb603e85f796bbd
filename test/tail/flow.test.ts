/**
 * docs/PROTOCOL.md §8, flow control: the credit window (TOO_MANY_IN_FLIGHT), no rate limit by
 * default, the operator's rate limit (RATE_LIMITED with a retry_after_ms that works when
 * honoured; a peer that ignores it is closed with 1008), and QUEUE_FULL.
 */
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { encodeFrame } from '../../protocol/index.js';
import { connect, edges, errorOf, loadBundle, splitRequest, TINY, tinyGolden, type Golden, type TestClient } from './client.js';

let bundle: LoadedBundle;
let golden: Golden;
const pool = edges();

beforeAll(async () => {
  [bundle, golden] = await Promise.all([loadBundle(TINY), tinyGolden()]);
});
afterAll(() => pool.closeAll());

/** Waits `ms` by the clock the edge's bucket uses (a timer may fire a little early). */
async function waitAtLeast(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(until - performance.now()))));
}

/** The code name of each id's outcomes so far. */
function outcomeCodes(c: TestClient): Map<number, string[]> {
  const by = new Map<number, string[]>();
  for (const { message: m } of c.received) {
    if (m.type !== 'answer' && m.type !== 'error') continue;
    const id = m.type === 'answer' ? m.answer.id : m.error.id;
    by.set(id, [...(by.get(id) ?? []), m.type === 'answer' ? 'answer' : errorOf(m).name]);
  }
  return by;
}

describe('credit window', () => {
  it('TOO_MANY_IN_FLIGHT for one request over max_in_flight; room again once answers come', async () => {
    const s = await pool.start({ maxInFlight: 2, maxBatch: 3, maxQueueDelayUs: 10_000_000 });
    const { c, ack } = await connect(s.url, bundle);
    expect(ack.limits.maxInFlight).toBe(2);
    c.request(splitRequest(bundle, 1, golden.latent[0]!, 0));
    c.request(splitRequest(bundle, 2, golden.latent[1]!, 0));
    expect(errorOf(await c.call(splitRequest(bundle, 3, golden.latent[2]!, 0)))).toMatchObject({
      id: 3,
      name: 'TOO_MANY_IN_FLIGHT',
      message: '2 requests in flight; the limit is 2',
      retryAfterMs: 0,
    });
    // A second connection has its own window: its request completes the batch of 3.
    const { c: other } = await connect(s.url, bundle);
    expect((await other.call(splitRequest(bundle, 1, golden.latent[3]!, 0))).type).toBe('answer');
    expect([(await c.outcome(1)).type, (await c.outcome(2)).type]).toEqual(['answer', 'answer']);
    c.close();
    other.close();
  });

  it('never rate limits by default: max_in_flight requests back to back at full speed, round after round', async () => {
    const s = await pool.start({ maxBatch: 64 });
    const { c, ack } = await connect(s.url, bundle);
    expect([ack.limits.rateLimitPerSecond, ack.limits.rateBurst]).toEqual([0, 0]);
    const window = ack.limits.maxInFlight;
    // 20 windows of 64 = 1,280 frames: more than a default bucket (1,000) would hold, were it on.
    for (let round = 0; round < 20; round++) {
      const frames = Array.from({ length: window }, (_, k) => encodeFrame({ type: 'request', request: splitRequest(bundle, k + 1, golden.latent[k % 4]!, 0) }));
      for (const f of frames) c.sendRaw(f);
      const outcomes = await Promise.all(frames.map((_, k) => c.outcome(k + 1)));
      expect(outcomes.filter((o) => o.type !== 'answer').map((o) => errorOf(o).name)).toEqual([]);
    }
    c.close();
  }, 60_000);
});

describe('rate limit (when the operator sets one)', () => {
  it('is announced; a frame beyond the bucket gets RATE_LIMITED with the time to the next token, and honouring it lets the next frame through', async () => {
    const s = await pool.start({ rateLimitPerSecond: 2, rateBurst: 3 });
    const { c, ack } = await connect(s.url, bundle);
    expect([ack.limits.rateLimitPerSecond, ack.limits.rateBurst]).toEqual([2, 3]);
    for (let id = 1; id <= 4; id++) c.request(splitRequest(bundle, id, golden.latent[0]!, 0));
    for (let id = 1; id <= 3; id++) expect((await c.outcome(id)).type).toBe('answer');
    const e = errorOf(await c.outcome(4));
    expect(e).toMatchObject({ id: 4, name: 'RATE_LIMITED', message: 'more than 2 frames/s on this connection' });
    // One token takes 500 ms to come back at 2/s; some of it passed while the burst went through.
    expect(e.retryAfterMs).toBeGreaterThan(0);
    expect(e.retryAfterMs).toBeLessThanOrEqual(500);
    await waitAtLeast(e.retryAfterMs);
    expect((await c.call(splitRequest(bundle, 4, golden.latent[0]!, 0))).type).toBe('answer');
    c.close();
  });

  it('closes with 1008 a connection that ignores the hint; no id gets two outcomes', async () => {
    const s = await pool.start({ rateLimitPerSecond: 2, rateBurst: 2 });
    const { c } = await connect(s.url, bundle);
    for (let id = 1; id <= 10; id++) c.request(splitRequest(bundle, id, golden.latent[0]!, 0));
    expect(await c.closed).toEqual({ code: 1008, reason: 'rate limit exceeded' });
    const codes = outcomeCodes(c);
    expect([...codes.values()].every((x) => x.length === 1)).toBe(true);
    // Refusals within the second up to the rate were answered, the next closed the connection (the
    // burst's answers may not have been computed by then: a closed connection's ids end in nothing).
    expect([...codes.values()].flat().filter((x) => x !== 'answer' && x !== 'RATE_LIMITED')).toEqual([]);
    expect([...codes.values()].flat().filter((x) => x === 'RATE_LIMITED').length).toBeLessThanOrEqual(2);
  });
});

describe('queue full', () => {
  it('QUEUE_FULL at once beyond maxQueue, with retry_after_ms; the queued request is answered', async () => {
    const s = await pool.start({ maxQueue: 1, maxQueueDelayUs: 300_000 });
    const { c } = await connect(s.url, bundle);
    c.request(splitRequest(bundle, 1, golden.latent[0]!, 0));
    const e = errorOf(await c.call(splitRequest(bundle, 2, golden.latent[1]!, 0)));
    expect(e).toMatchObject({ id: 2, name: 'QUEUE_FULL', message: 'queue for tiny@0.2.0/tail holds 1 requests' });
    expect(e.retryAfterMs).toBeGreaterThanOrEqual(1);
    expect((await c.outcome(1)).type).toBe('answer');
    c.close();
  });
});

describe('replies to the frames of one read', () => {
  it('leave in one write (refusing frame by frame cost a system call each under overload)', async () => {
    const s = await pool.start({ maxQueue: 1, maxQueueDelayUs: 1_000_000 });
    const { c } = await connect(s.url, bundle);
    c.request(splitRequest(bundle, 1, golden.latent[0]!, 0)); // queued (its batch waits a second): the queue is full
    const socket = (c.ws as unknown as { _socket: Socket })._socket;
    const port = socket.localPort;
    // The edge's writes on this connection (its socket's remote port is this client's): chunks per system call.
    type Write = (this: Socket, ...args: unknown[]) => unknown;
    const proto = Socket.prototype as unknown as { _write: Write; _writev: Write };
    const { _write, _writev } = proto;
    const writes: number[] = [];
    proto._writev = function (this: Socket, ...args: unknown[]) {
      if (this.remotePort === port) writes.push((args[0] as unknown[]).length);
      return _writev.apply(this, args);
    };
    proto._write = function (this: Socket, ...args: unknown[]) {
      if (this.remotePort === port) writes.push(1);
      return _write.apply(this, args);
    };
    try {
      // Three requests in one TCP write: the edge reads them in one chunk and refuses each.
      socket.cork();
      for (const id of [2, 3, 4]) c.request(splitRequest(bundle, id, golden.latent[1]!, 0));
      socket.uncork();
      const refused = await Promise.all([2, 3, 4].map(async (id) => errorOf(await c.outcome(id)).name));
      expect(refused).toEqual(['QUEUE_FULL', 'QUEUE_FULL', 'QUEUE_FULL']);
      expect(writes).toHaveLength(1); // one system call for the three refusals (each a header and a body)
      expect(writes[0]).toBeGreaterThanOrEqual(3);
      expect((await c.outcome(1)).type).toBe('answer');
    } finally {
      proto._write = _write;
      proto._writev = _writev;
      c.close();
    }
  });
});
