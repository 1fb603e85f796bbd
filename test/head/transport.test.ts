import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFeatures } from '../../bottleneck/features.js';
import { resolveRatePoint } from '../../bottleneck/rate-points.js';
import { nodeSocket } from '../../head/socket-node.js';
import { CLOSED, type SocketLike } from '../../head/socket.js';
import { EdgeTransport, wsClientOverhead, wsServerOverhead, type RequestOutcome, type TransportOptions } from '../../head/transport.js';
import { encodeFrame } from '../../protocol/frame.js';
import type { EntropyTables } from '../../protocol/manifest.js';
import { pb, type ErrorInit, type RequestInit } from '../../protocol/messages.js';
import { createEdgeServer, type EdgeServer, type EdgeServerOptions } from '../../tail/index.js';
import { defaultAck, FakeEdge, loadGolden, loadManifest, MODELS, TINY, type Golden } from './helpers.js';

let golden: Golden;
let sha: string;
let version: string;
const servers: { close(): Promise<void> }[] = [];
const transports: EdgeTransport[] = [];

beforeAll(async () => {
  golden = await loadGolden();
  const { manifest, sha256 } = await loadManifest();
  sha = sha256;
  version = manifest.version;
});
/** Closes every transport and server the tests made so far (their reconnect timers and sockets with them). */
async function closeAll(): Promise<void> {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
}
afterAll(closeAll);

async function edge(over: Partial<EdgeServerOptions> = {}): Promise<EdgeServer> {
  const s = await createEdgeServer({ models: MODELS, port: 0, workers: 1, ...over });
  servers.push(s);
  return s;
}

async function fake(options: Parameters<typeof FakeEdge.start>[0] = {}): Promise<FakeEdge> {
  const f = await FakeEdge.start(options);
  servers.push(f);
  return f;
}

function transport(url: string, over: Partial<TransportOptions> = {}): EdgeTransport {
  const t = new EdgeTransport({
    url,
    socket: nodeSocket,
    bundle: { id: 'tiny', version, manifestSha256: sha },
    ratePoints: [0, 1, 2],
    backoffMs: 10,
    maxBackoffMs: 50,
    ...over,
  });
  transports.push(t);
  return t;
}

/** A split request at rate point s1 for golden image i (the exporter's own payload). */
function s1Request(i: number): Omit<RequestInit, 'id' | 'deadlineMs'> {
  return { rate: 0, payload: Buffer.from(golden.rates.s1.payloads[i]!, 'hex') };
}

const tiny: Omit<RequestInit, 'id' | 'deadlineMs'> = { payload: Uint8Array.from([1, 2, 3]) };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('wsClientOverhead / wsServerOverhead', () => {
  it('is the WebSocket header (2, 4 or 10 bytes by length) plus the 4-byte mask a client adds', () => {
    expect([0, 125, 126, 65535, 65536].map(wsClientOverhead)).toEqual([6, 6, 8, 8, 14]);
    expect([0, 125, 126, 65535, 65536].map(wsServerOverhead)).toEqual([2, 2, 4, 4, 10]);
  });
});

describe('handshake with a real edge', () => {
  it('binds the intersection of the offered rate points (Hello order, duplicates and unknown indices dropped) and the deadline', async () => {
    const t = transport((await edge()).url, {
      ratePoints: [2, 7, 0, 2],
      deadlineMs: 250,
      zstd: true,
      inputEncodings: [
        { codec: pb.InputCodec.INPUT_RAW },
        { codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 2, bits: 4 },
        { codec: pb.InputCodec.INPUT_DOWNSAMPLE, factor: 1, bits: 4 },
      ],
    });
    expect(await t.whenReady(5000)).toBe(true);
    expect(t.ready).toBe(true);
    expect(t.terms).toMatchObject({
      protocolVersion: 2,
      bundle: { id: 'tiny', version, manifestSha256: sha },
      ratePoints: [2, 0],
      inputEncodings: [0, 1],
      zstd: true,
      limits: { maxInFlight: 64, maxBatch: 32, deadlineMs: 250, maxDeadlineMs: 60_000, rateLimitPerSecond: 0, rateBurst: 0 },
    });
  });

  it("takes the edge's default deadline (10 s) when the Hello sets none, capped at the maximum", async () => {
    const url = (await edge()).url;
    const a = transport(url);
    const b = transport(url, { deadlineMs: 600_000 });
    expect(await a.whenReady(5000)).toBe(true);
    expect(await b.whenReady(5000)).toBe(true);
    expect(a.terms!.limits.deadlineMs).toBe(10_000);
    expect(b.terms!.limits.deadlineMs).toBe(60_000);
  });

  it('takes its first RTT sample from the handshake (provisional: browsers cannot ping), then one from a probe of pings', async () => {
    const rtts: [number, string][] = [];
    const states: boolean[] = [];
    let probed!: () => void;
    const probe = new Promise<void>((resolve) => (probed = resolve));
    const onRtt = (ms: number, source: 'handshake' | 'ping'): void => {
      rtts.push([ms, source]);
      if (source === 'ping') probed();
    };
    const t = transport((await edge()).url, { heartbeatMs: 3_600_000, onRtt, onState: (ready) => states.push(ready) });
    expect(await t.whenReady(5000)).toBe(true);
    expect(rtts).toEqual([[expect.any(Number), 'handshake']]);
    expect(rtts[0]![0]).toBeGreaterThan(0);
    expect(states).toEqual([true]);
    await probe;
    expect(rtts).toEqual([
      [expect.any(Number), 'handshake'],
      [expect.any(Number), 'ping'],
    ]);
    expect(rtts[1]![0]).toBeGreaterThan(0);
  });

  it("reports the least of the probe's round trips once, its pings sent one at a time", async () => {
    // The fake edge holds the first and last pongs 200 ms and answers the second at once. Times
    // are on the one clock both ends share (one process), so the bounds hold at any speed: the
    // second ping left after the first pong and came back before the third ping arrived.
    const HOLD = [200, 0, 200];
    const pings: number[] = [];
    const pongs: number[] = [];
    let outstanding = 0;
    let most = 0;
    const f = await fake({
      onPing: (ws) => {
        pings.push(performance.now());
        most = Math.max(most, ++outstanding);
        setTimeout(
          () => {
            outstanding--;
            pongs.push(performance.now());
            ws.pong();
          },
          HOLD[pings.length - 1] ?? 0,
        );
      },
    });
    const rtts: [number, string][] = [];
    let probed!: () => void;
    const probe = new Promise<void>((resolve) => (probed = resolve));
    transport(f.url, {
      heartbeatMs: 3_600_000,
      onRtt: (ms, source) => {
        rtts.push([ms, source]);
        if (source === 'ping') probed();
      },
    });
    await probe;
    expect(pings).toHaveLength(3);
    expect(most).toBe(1);
    expect(rtts.map(([, s]) => s)).toEqual(['handshake', 'ping']);
    const reported = rtts[1]![0];
    expect(reported).toBeGreaterThanOrEqual(Math.min(...pings.map((p, i) => pongs[i]! - p)));
    expect(reported).toBeLessThanOrEqual(pings[2]! - pongs[0]!);
  });

  it('times every pong against its own ping: a heartbeat tick while a ping awaits its pong sends nothing', async () => {
    // Every pong held 150 ms, the heartbeat every 20 ms: ticks fall while the probe's pings wait.
    const HOLD = 150;
    let outstanding = 0;
    let most = 0;
    const f = await fake({
      onPing: (ws) => {
        most = Math.max(most, ++outstanding);
        setTimeout(() => {
          outstanding--;
          ws.pong();
        }, HOLD);
      },
    });
    const rtts: number[] = [];
    let twice!: () => void;
    const done = new Promise<void>((resolve) => (twice = resolve));
    transport(f.url, {
      heartbeatMs: 20,
      onRtt: (ms, source) => {
        if (source !== 'ping') return;
        rtts.push(ms);
        if (rtts.length === 2) twice();
      },
    });
    await done; // the probe's report, then a heartbeat ping's
    expect(most).toBe(1);
    // A pong timed against a later ping would read under the hold (timers fire at most a millisecond early).
    for (const ms of rtts) expect(ms).toBeGreaterThanOrEqual(HOLD - 1);
  });

  it('probes again on a new connection when a reconnect cut the last probe short', async () => {
    // The first connection's pongs never come; the edge drops it while its first probe ping waits.
    const pings: WebSocket[] = [];
    let pinged!: () => void;
    const first = new Promise<void>((resolve) => (pinged = resolve));
    const f = await fake({
      onPing: (ws) => {
        pings.push(ws);
        if (pings.length === 1) pinged();
        else ws.pong();
      },
    });
    const rtts: string[] = [];
    let probed!: () => void;
    const done = new Promise<void>((resolve) => (probed = resolve));
    transport(f.url, {
      heartbeatMs: 3_600_000,
      onRtt: (_ms, source) => {
        rtts.push(source);
        if (source === 'ping') probed();
      },
    });
    await first;
    f.dropAll();
    await done;
    expect(rtts).toEqual(['handshake', 'handshake', 'ping']);
    expect(pings).toHaveLength(4); // 1 unanswered, then the new connection's 3
    expect(new Set(pings.slice(1)).size).toBe(1);
    expect(pings[1]).not.toBe(pings[0]);
  });

  it('sends no probe with probePings: 0 (the heartbeat measures)', async () => {
    let pinged = 0;
    const f = await fake({ onPing: () => pinged++ });
    const rtts: string[] = [];
    const t = transport(f.url, { heartbeatMs: 3_600_000, probePings: 0, onRtt: (_ms, source) => rtts.push(source) });
    expect(await t.whenReady(5000)).toBe(true);
    // A request answered after the handshake: any probe ping would have reached the edge first.
    const r = t.request(tiny, 5000);
    await f.requests(1);
    f.answer(f.received[0]!);
    expect((await r).ok).toBe(true);
    expect(pinged).toBe(0);
    expect(rtts).toEqual(['handshake']);
  });

  it('gets the split answers the exporter predicted, with wire byte counts', async () => {
    const t = transport((await edge()).url);
    expect(await t.whenReady(5000)).toBe(true);
    const outcomes = await Promise.all([0, 1, 2, 3].map((i) => t.request(s1Request(i), 5000)));
    outcomes.forEach((o, i) => {
      if (!o.ok) throw new Error(o.message);
      expect(o.answer.id).toBe(i + 1); // concurrent requests: ids 1..4
      expect(o.answer.label).toBe(golden.splitPredictions.s1[i]);
      const up = encodeFrame({ type: 'request', request: { id: i + 1, ...s1Request(i), deadlineMs: 5000 } }).length;
      expect(o.bytesUp).toBe(up + 6);
      const down = encodeFrame({ type: 'answer', answer: o.answer }).length;
      expect(o.bytesDown).toBe(down + 2);
    });
  });

  it("is 'refused' for a bundle the edge does not serve, with the edge's reason", async () => {
    const t = transport((await edge()).url, { bundle: { id: 'tiny', version, manifestSha256: 'c'.repeat(64) } });
    expect(await t.whenReady(5000)).toBe(false);
    expect(t.refusal).toBe(`MODEL_MISMATCH: tiny ${version} here has manifest sha256 ${sha}, not ${'c'.repeat(64)}`);
    expect(await t.request(tiny, 1000)).toEqual({ ok: false, reason: 'refused', message: t.refusal, retryAfterMs: 0, bytesUp: 0 });
    expect(await t.whenReady(5000)).toBe(false); // at once: refused is final
  });
});

describe('request ids', () => {
  it('starts at 1 and reuses the smallest free id (one byte on the wire)', async () => {
    const f = await fake();
    const t = transport(f.url);
    await t.whenReady(5000);
    const first = [t.request(tiny, 5000), t.request(tiny, 5000), t.request(tiny, 5000)];
    await f.requests(3);
    expect(f.received.map((r) => r.request.id)).toEqual([1, 2, 3]);
    f.answer(f.received[0]!);
    expect((await first[0]!).ok).toBe(true);
    const again = t.request(tiny, 5000);
    await f.requests(4);
    expect(f.received[3]!.request.id).toBe(1);
    f.answer(f.received[2]!);
    await first[2];
    const third = t.request(tiny, 5000);
    await f.requests(5);
    expect(f.received[4]!.request.id).toBe(3);
    for (const i of [1, 3, 4]) f.answer(f.received[i]!);
    expect((await Promise.all([first[1]!, again, third])).map((o) => o.ok)).toEqual([true, true, true]);
  });

  it('counts up with a device id (ids scoped to the device, never reused)', async () => {
    const f = await fake();
    const t = transport(f.url, { deviceId: new Uint8Array(16).fill(7) });
    await t.whenReady(5000);
    expect(Array.from(f.hellos[0]!.deviceId)).toEqual(new Array(16).fill(7));
    const a = t.request(tiny, 5000);
    await f.requests(1);
    f.answer(f.received[0]!);
    await a;
    const rest = [t.request(tiny, 5000), t.request(tiny, 5000)];
    await f.requests(3);
    expect(f.received.map((r) => r.request.id)).toEqual([1, 2, 3]);
    f.received.slice(1).forEach((r) => f.answer(r));
    await Promise.all(rest);
  });

  it('keeps an id that timed out on the device reserved until the edge ends it (ids must be unique among unanswered requests)', async () => {
    const f = await fake();
    const t = transport(f.url);
    await t.whenReady(5000);
    expect(await t.request(tiny, 20)).toMatchObject({ ok: false, reason: 'timeout' });
    await f.requests(1);
    const next = t.request(tiny, 5000);
    await f.requests(2);
    // The edge has not ended id 1: reusing it would be a DUPLICATE_ID (PROTOCOL.md §4, §9.1).
    expect(f.received[1]!.request.id).toBe(2);
    f.answer(f.received[1]!);
    await next;
  });

  it('a request after a device-side timeout on a slow real edge is not refused as DUPLICATE_ID', async () => {
    const t = transport((await edge({ maxQueueDelayUs: 5_000_000 })).url);
    await t.whenReady(5000);
    expect(await t.request(s1Request(0), 20)).toMatchObject({ ok: false, reason: 'timeout' });
    expect(await t.request(s1Request(1), 20)).toMatchObject({ ok: false, reason: 'timeout' });
  });
});

describe('bytes and deadline on the wire', () => {
  it('sends exactly the frame (id first, deadline omitted when it is the connection default) and counts it with the WebSocket framing', async () => {
    const f = await fake({ ack: (h) => defaultAck(h, { deadlineMs: 250 }) });
    const t = transport(f.url, { deadlineMs: 250 });
    await t.whenReady(5000);
    const a = t.request(tiny, 250);
    await f.requests(1);
    expect(hex(f.received[0]!.bytes)).toBe('1a0708011203010203');
    const down = f.answer(f.received[0]!, { label: 7, confidence: 200 });
    expect(await a).toMatchObject({ ok: true, bytesUp: 9 + 6, bytesDown: down + 2, answer: { id: 1, label: 7, confidence: 200 } });
    expect(down).toBe(9); // 22 07 08 01 10 07 18 c8 01

    const b = t.request(tiny, 300);
    await f.requests(2);
    expect(hex(f.received[1]!.bytes)).toBe('1a0a0801120301020330ac02');
    f.answer(f.received[1]!);
    expect(await b).toMatchObject({ ok: true, bytesUp: 12 + 6 });
  });

  it('counts a 4-byte header above 125 bytes', async () => {
    const f = await fake();
    const t = transport(f.url);
    await t.whenReady(5000);
    const o = t.request({ rate: 2, payload: new Uint8Array(196) }, 10_000);
    await f.requests(1);
    expect(f.received[0]!.bytes.length).toBe(3 + 2 + 3 + 196 + 2); // 1a cb 01 | 08 01 | 12 c4 01 <196> | 18 02
    f.answer(f.received[0]!);
    expect(await o).toMatchObject({ ok: true, bytesUp: 206 + 8 });
  });
});

describe('request() never rejects', () => {
  it("resolves 'disconnected' while no edge is there", async () => {
    const t = transport('ws://127.0.0.1:1');
    expect(await t.request(tiny, 1000)).toEqual({ ok: false, reason: 'disconnected', message: 'not connected to the edge', retryAfterMs: 0, bytesUp: 0 });
  });

  it("resolves 'refused' with the refusal after an Error{id: 0}", async () => {
    const f = await fake({ refuse: { code: pb.ErrorCode.UNKNOWN_MODEL, message: 'not here' } });
    const t = transport(f.url);
    expect(await t.whenReady(5000)).toBe(false);
    expect(await t.request(tiny, 1000)).toEqual({ ok: false, reason: 'refused', message: 'UNKNOWN_MODEL: not here', retryAfterMs: 0, bytesUp: 0 });
  });

  it("resolves 'timeout' at its deadline when the edge says nothing, with the bytes it sent", async () => {
    const f = await fake();
    const t = transport(f.url);
    await t.whenReady(5000);
    expect(await t.request(tiny, 50)).toEqual({ ok: false, reason: 'timeout', message: 'no answer within 50 ms', retryAfterMs: 0, bytesUp: 11 + 6 }); // 1a 09 08 01 12 03 01 02 03 30 32
  });

  it("resolves 'disconnected' when the connection drops mid-flight", async () => {
    const f = await fake();
    const states: boolean[] = [];
    const t = transport(f.url, { onState: (ready) => states.push(ready) });
    await t.whenReady(5000);
    const o = t.request(tiny, 10_000);
    await f.requests(1);
    f.dropAll();
    expect(await o).toEqual({
      ok: false,
      reason: 'disconnected',
      message: 'the connection closed before the answer',
      retryAfterMs: 0,
      bytesUp: f.received[0]!.bytes.length + 6,
    });
    expect(states).toEqual([true, false]);
    expect(await t.whenReady(5000)).toBe(true); // it reconnects by itself
  });

  it("resolves 'server-error:<code>' with the edge's message and retry hint; unknown codes read as INTERNAL", async () => {
    const f = await fake();
    const t = transport(f.url);
    await t.whenReady(5000);
    const a = t.request(tiny, 5000);
    const b = t.request(tiny, 5000);
    await f.requests(2);
    const down = f.error(f.received[0]!, { code: pb.ErrorCode.QUEUE_FULL, message: 'queue full', retryAfterMs: 7 });
    f.error(f.received[1]!, { code: 99 as unknown as ErrorInit['code'], message: 'from the future' });
    // The error frame's bytes count down (an unmasked server frame under 126 bytes: 2 of header).
    expect(await a).toEqual({
      ok: false,
      reason: 'server-error:QUEUE_FULL',
      message: 'queue full',
      retryAfterMs: 7,
      bytesUp: f.received[0]!.bytes.length + 6,
      bytesDown: down + 2,
    });
    expect(await b).toMatchObject({ ok: false, reason: 'server-error:INTERNAL', message: 'unknown error code 99: from the future' });
  });

  it("resolves 'server-error:TOO_MANY_IN_FLIGHT' locally when the credit window is full, sending nothing", async () => {
    const f = await fake({ ack: (h) => defaultAck(h, { maxInFlight: 2 }) });
    const t = transport(f.url);
    await t.whenReady(5000);
    const held = [t.request(tiny, 5000), t.request(tiny, 5000)];
    expect(await t.request(tiny, 5000)).toEqual({
      ok: false,
      reason: 'server-error:TOO_MANY_IN_FLIGHT',
      message: 'the edge allows no more requests in flight',
      retryAfterMs: 0,
      bytesUp: 0,
    });
    await f.requests(2);
    f.answer(f.received[0]!);
    await held[0];
    const after = t.request(tiny, 5000); // a credit came back
    await f.requests(3);
    expect(f.received.map((r) => r.request.id)).toEqual([1, 2, 1]);
    f.received.slice(1).forEach((r) => f.answer(r));
    expect((await Promise.all([held[1]!, after])).every((o: RequestOutcome) => o.ok)).toBe(true);
  });

  it("ends what is pending 'disconnected' on close(), and answers 'disconnected' after it", async () => {
    const f = await fake();
    const t = transport(f.url);
    await t.whenReady(5000);
    const o = t.request(tiny, 10_000);
    await f.requests(1);
    await t.close();
    expect(await o).toMatchObject({ ok: false, reason: 'disconnected' });
    expect(await t.request(tiny, 1000)).toMatchObject({ ok: false, reason: 'disconnected' });
    expect(await t.whenReady(1000)).toBe(false);
  });
});

describe('reconnection', () => {
  it("answers 'disconnected' while the edge is absent, then connects when it appears", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const t = transport(`ws://127.0.0.1:${port}`);
    expect(await t.request(tiny, 1000)).toMatchObject({ ok: false, reason: 'disconnected' });
    await edge({ port });
    expect(await t.whenReady(10_000)).toBe(true);
    expect(await t.request(s1Request(0), 5000)).toMatchObject({ ok: true, answer: { label: golden.splitPredictions.s1[0] } });
  });

  it("ends in-flight requests when a real edge stops ('disconnected', or SHUTTING_DOWN sent first)", async () => {
    const server = await createEdgeServer({ models: MODELS, port: 0, workers: 1, maxQueueDelayUs: 5_000_000 });
    const t = transport(server.url);
    await t.whenReady(5000);
    const pending = [t.request(s1Request(0), 10_000), t.request(s1Request(1), 10_000)];
    await server.close();
    for (const o of await Promise.all(pending)) {
      expect(o.ok).toBe(false);
      if (!o.ok) expect(['disconnected', 'server-error:SHUTTING_DOWN']).toContain(o.reason);
    }
  });
});

describe('close()', () => {
  it('leaves no timers or sockets behind', async () => {
    // The process's resource list holds the edge's and the test runner's timers too, which come and
    // go on their own: the timers counted here are the ones made from the transport's code (by the
    // stack that created them), the sockets the ones its factory made. The earlier tests' transports
    // (some still reconnecting to edges that stopped) are closed first: their timers would count.
    await closeAll();
    const server = await edge();
    const live = new Map<ReturnType<typeof setTimeout>, boolean>();
    const fromTransport = (): boolean => /head[/\\]transport\.ts/.test(new Error().stack ?? '');
    const real = { setTimeout, clearTimeout, setInterval, clearInterval };
    const track = <H extends ReturnType<typeof setTimeout>>(h: H): H => (fromTransport() && live.set(h, true), h);
    globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const h: ReturnType<typeof setTimeout> = real.setTimeout((...a: unknown[]) => (live.delete(h), fn(...a)), ms, ...args);
      return track(h);
    }) as typeof setTimeout;
    globalThis.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      track(real.setInterval(fn, ms, ...args))) as typeof setInterval;
    globalThis.clearTimeout = ((h?: ReturnType<typeof setTimeout>) => (h && live.delete(h), real.clearTimeout(h))) as typeof clearTimeout;
    globalThis.clearInterval = ((h?: ReturnType<typeof setInterval>) => (h && live.delete(h), real.clearInterval(h))) as typeof clearInterval;
    const sockets: SocketLike[] = [];
    try {
      const t = new EdgeTransport({
        url: server.url,
        socket: (...a) => {
          const ws = nodeSocket(...a);
          sockets.push(ws);
          return ws;
        },
        bundle: { id: 'tiny', version, manifestSha256: sha },
        ratePoints: [0],
      });
      await t.whenReady(5000);
      expect(await t.request(s1Request(0), 5000)).toMatchObject({ ok: true });
      expect(live.size).toBeGreaterThan(0); // the heartbeat at least: the tracking sees the transport's timers
      await t.close();
      expect(sockets.map((ws) => ws.readyState)).toEqual([CLOSED]);
      expect(live.size).toBe(0);
    } finally {
      Object.assign(globalThis, real);
    }
  });
});

describe('payloads the codec makes', () => {
  it("encodes the golden latent to the exporter's s1 payloads (the bytes these tests send)", async () => {
    const { manifest } = await loadManifest();
    const tables = JSON.parse(await readFile(`${TINY}/entropy-s1.json`, 'utf8')) as EntropyTables;
    const rp = resolveRatePoint(manifest.bottleneck.ratePoints[0]!, manifest.bottleneck.shape, tables);
    golden.latent.forEach((x, i) => {
      expect(hex(encodeFeatures(Float32Array.from(x), manifest.bottleneck.shape, rp).payload)).toBe(golden.rates.s1.payloads[i]);
    });
  });
});
