/**
 * head/sender.ts without an edge: the QUEUE_FULL retry within the deadline (both attempts'
 * bytes counted), nothing sent while the edge's retry-after runs, the Want bits (server timings on one send in TIMINGS_EVERY), and the requests
 * the Sender builds: the codec's payload at a rate point or the raw input, zstd only when the
 * edge accepted it, the promotion read once per send.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RatePoint } from '../../bottleneck/features.js';
import { encodeFeatures } from '../../bottleneck/features.js';
import { encodeInput } from '../../bottleneck/input.js';
import { resolveRatePoints } from '../../bottleneck/rate-points.js';
import type { ZstdBackend } from '../../bottleneck/zstd.js';
import { loadZstd } from '../../bottleneck/zstd-native.js';
import { openDeviceBundle } from '../../head/bundle-source.js';
import { folderReader } from '../../head/folder.js';
import { LinkEstimator } from '../../head/link.js';
import { feedRtt, MAX_HOLD_MS, Sender, sendWithin, TIMINGS_EVERY, wantBits, type EdgeLike, type Outgoing } from '../../head/sender.js';
import type { RequestOutcome } from '../../head/transport.js';
import type { Manifest } from '../../protocol/manifest.js';
import { pb, type Answer, type HelloAck } from '../../protocol/messages.js';
import { TINY } from './helpers.js';

let manifest: Manifest;
let ratePoints: RatePoint[];
let zstd: ZstdBackend;

beforeAll(async () => {
  const opened = await openDeviceBundle(TINY, undefined, undefined, folderReader);
  manifest = opened.manifest;
  ratePoints = resolveRatePoints(manifest, opened.tables);
  zstd = await loadZstd();
});

const ANSWER = { id: 1, label: 3 } as Answer;
const answered = (bytesUp: number, bytesDown: number): RequestOutcome => ({ ok: true, answer: ANSWER, bytesUp, bytesDown, ms: 4 });
const queueFull = (retryAfterMs: number, bytesUp = 30, bytesDown = 12): RequestOutcome => ({
  ok: false,
  reason: 'server-error:QUEUE_FULL',
  message: 'queue full',
  retryAfterMs,
  bytesUp,
  bytesDown,
});

/** An edge that answers with `outcomes` in turn, recording each request and the deadline it was given. */
function fakeEdge(outcomes: RequestOutcome[], terms: Partial<HelloAck> = {}): EdgeLike & { calls: { req: Outgoing; deadlineMs: number; at: number }[] } {
  const calls: { req: Outgoing; deadlineMs: number; at: number }[] = [];
  return {
    calls,
    ready: true,
    terms: terms as HelloAck,
    request(req, deadlineMs) {
      calls.push({ req, deadlineMs, at: performance.now() });
      return Promise.resolve(outcomes.shift() ?? answered(1, 1));
    },
  };
}

describe('sendWithin', () => {
  it('after QUEUE_FULL waits the retry-after, sends once more with the time left, and counts both attempts’ bytes', async () => {
    const edge = fakeEdge([queueFull(20), answered(31, 14)]);
    const started = performance.now();
    const o = await sendWithin(edge, { rate: 0 }, 1000, started);
    expect(o).toEqual({ ok: true, answer: ANSWER, bytesUp: 61, bytesDown: 26, ms: 4 });
    expect(edge.calls).toHaveLength(2);
    expect(edge.calls[0]!.deadlineMs).toBe(1000);
    expect(edge.calls[1]!.at - edge.calls[0]!.at).toBeGreaterThanOrEqual(19);
    // What was left when it retried: the deadline less the time gone and the wait.
    expect(edge.calls[1]!.deadlineMs).toBeLessThanOrEqual(980);
    expect(edge.calls[1]!.deadlineMs).toBeGreaterThan(900);
  });

  it('a second failure carries both attempts’ bytes and its own reason', async () => {
    const edge = fakeEdge([queueFull(1, 30, 12), { ok: false, reason: 'timeout', message: 'late', retryAfterMs: 0, bytesUp: 30 }]);
    expect(await sendWithin(edge, { rate: 0 }, 1000, performance.now())).toEqual({
      ok: false,
      reason: 'timeout',
      message: 'late',
      retryAfterMs: 0,
      bytesUp: 60,
      bytesDown: 12,
    });
  });

  it('gives up at once when the retry-after does not fit in the deadline, and never retries another failure', async () => {
    const full = queueFull(1000);
    let edge = fakeEdge([full]);
    expect(await sendWithin(edge, { rate: 0 }, 1000, performance.now())).toBe(full);
    expect(edge.calls).toHaveLength(1);
    const refused: RequestOutcome = { ok: false, reason: 'server-error:OVERLOADED', message: 'busy', retryAfterMs: 1, bytesUp: 30 };
    edge = fakeEdge([refused]);
    expect(await sendWithin(edge, { rate: 0 }, 1000, performance.now())).toBe(refused);
    expect(edge.calls).toHaveLength(1);
  });
});

describe('wantBits', () => {
  it('asks for scores for scores or topK, outputs when asked, timings when told', () => {
    expect(wantBits({}, false)).toBe(0);
    expect(wantBits({ topK: 3 }, false)).toBe(pb.Want.WANT_SCORES);
    expect(wantBits({ scores: true, outputs: true }, true)).toBe(pb.Want.WANT_SCORES | pb.Want.WANT_OUTPUTS | pb.Want.WANT_TIMINGS);
  });
});

describe('Sender', () => {
  const sender = (edge: EdgeLike, promoted: boolean[] = []): Sender =>
    new Sender(edge, { manifest, ratePoints, zstd, inputEncoding: { codec: 'raw' }, deadlineMs: 1000, promotedNow: () => promoted.shift() ?? false });
  const latent = (): Float32Array => Float32Array.from({ length: 98 }, (_, i) => ((i % 7) - 3) * 0.4);

  it("sends the codec's payload at the rate point asked for, with what the app wants", async () => {
    const edge = fakeEdge([]);
    const s = sender(edge, [true]);
    for (const rp of [0, 1, 2]) {
      const sent = await s.features(latent(), rp, rp === 2 ? { scores: true, topK: 2 } : { topK: 2 });
      const enc = encodeFeatures(latent(), manifest.bottleneck.shape, ratePoints[rp]!);
      expect(edge.calls.at(-1)!.req).toEqual({ rate: rp, payload: enc.payload, zstd: enc.zstd, want: wantBits({ topK: 2 }, rp === 0), topK: rp === 2 ? 0 : 2 });
      expect(sent).toMatchObject({ outcome: answered(1, 1), payloadBytes: enc.payload.length, promoted: rp === 0 });
      expect(sent.encodeMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('asks for the server’s timings on the first send and every TIMINGS_EVERY-th after it, full offload included', async () => {
    const edge = fakeEdge([]);
    const s = sender(edge);
    for (let i = 0; i < 2 * TIMINGS_EVERY + 1; i++) await (i % 2 ? s.input(() => new Uint8Array(784), {}) : s.features(latent(), 0, {}));
    const timed = edge.calls.map((c, i) => (c.req.want! & pb.Want.WANT_TIMINGS ? i : -1)).filter((i) => i >= 0);
    expect(timed).toEqual([0, TIMINGS_EVERY, 2 * TIMINGS_EVERY]);
  });

  it('sends the raw input to the full model, zstd-wrapped only when the edge accepted zstd', async () => {
    const raw = new Uint8Array(784);
    for (const accepted of [false, true]) {
      const edge = fakeEdge([], { zstd: accepted });
      const sent = await sender(edge).input(() => raw, {});
      const enc = encodeInput(raw, manifest.input.raw.shape, { codec: 'raw' }, accepted ? { zstd } : {});
      expect(enc.zstd).toBe(accepted);
      expect(edge.calls[0]!.req).toMatchObject({ graph: pb.Graph.GRAPH_FULL, rate: 0, payload: enc.payload, zstd: enc.zstd });
      expect(sent.payloadBytes).toBe(accepted ? enc.payload.length : 784);
    }
  });

  it("after QUEUE_FULL sends nothing until the edge's retry-after has run: those requests end QUEUE_FULL at once, unencoded, nothing sent", async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      // A retry-after longer than the deadline: the refused request ends at once too (no retry).
      const edge = fakeEdge([queueFull(1500)]);
      const s = sender(edge);
      expect((await s.features(latent(), 0, {})).outcome).toEqual(queueFull(1500));
      expect(edge.calls).toHaveLength(1);
      vi.advanceTimersByTime(1000);
      let raw = 0;
      for (const sent of [await s.features(latent(), 0, {}), await s.input(() => (raw++, new Uint8Array(784)), {})]) {
        expect(sent).toMatchObject({ encodeMs: 0, payloadBytes: 0, promoted: false });
        expect(sent.outcome).toEqual({
          ok: false,
          reason: 'server-error:QUEUE_FULL',
          message: expect.stringContaining('500 ms') as string,
          retryAfterMs: 500,
          bytesUp: 0,
        });
      }
      expect(raw).toBe(0);
      expect(edge.calls).toHaveLength(1);
      vi.advanceTimersByTime(500);
      expect((await s.features(latent(), 0, {})).outcome).toEqual(answered(1, 1));
      expect(edge.calls).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds at most MAX_HOLD_MS whatever the retry-after says, and not past a reconnection (a new handshake)', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const edge = fakeEdge([queueFull(2 ** 32 - 1), queueFull(1500)], { zstd: false });
      const s = sender(edge);
      await s.features(latent(), 0, {});
      vi.advanceTimersByTime(MAX_HOLD_MS - 1);
      expect((await s.features(latent(), 0, {})).outcome).toMatchObject({ bytesUp: 0, retryAfterMs: 1 });
      vi.advanceTimersByTime(1);
      expect((await s.features(latent(), 0, {})).outcome).toEqual(queueFull(1500));
      expect(edge.calls).toHaveLength(2);
      // The edge restarted: a new HelloAck, and the hold from the old connection no longer applies.
      Object.assign(edge, { terms: { zstd: false } });
      expect((await s.features(latent(), 0, {})).outcome).toEqual(answered(1, 1));
      expect(edge.calls).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reads readiness from the transport', () => {
    const edge = fakeEdge([]);
    expect(sender(edge).ready).toBe(true);
    expect(sender({ ...edge, ready: false }).ready).toBe(false);
  });
});

describe('feedRtt (what openEdge gives the transport as onRtt)', () => {
  it("takes the handshake's round trip as provisional and a ping's as measured", () => {
    const link = new LinkEstimator({ alpha: 0.5, initial: { rttMs: 100 } });
    const onRtt = feedRtt(link);
    onRtt(8, 'handshake');
    onRtt(2, 'ping'); // replaces the handshake's outright
    onRtt(4, 'ping'); // moves a measured one by alpha
    expect(link.estimate().rttMs).toBe(3);
    onRtt(30, 'handshake'); // a reconnect: provisional again
    onRtt(10, 'ping');
    expect(link.estimate().rttMs).toBe(10);
  });
});
