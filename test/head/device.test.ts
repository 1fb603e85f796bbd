import { readFile, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeInput } from '../../bottleneck/input.js';
import { loadZstd } from '../../bottleneck/zstd-native.js';
import {
  createDevice,
  RADIOS,
  STALE_AFTER,
  type BackendName,
  type Device,
  type DeviceOptions,
  type DeviceProfile,
  type InferResult,
} from '../../head/index.js';
import { TIMINGS_EVERY } from '../../head/device.js';
import { CostTracker, STALE_AFTER_MAX } from '../../head/costs.js';
import { deviceClass } from '../../head/devices.js';
import { encodeFrame } from '../../protocol/frame.js';
import { pb, type RequestInit } from '../../protocol/messages.js';
import type { Manifest } from '../../protocol/manifest.js';
import { normalizeInto } from '../../protocol/normalize.js';
import { createEdgeServer, type EdgeServer } from '../../tail/index.js';
import { argmaxOf, copyTiny, FakeEdge, loadGolden, loadManifest, MODELS, probs, ranking, TINY, tinyFiles, until, type Golden } from './helpers.js';

let golden: Golden;
let manifest: Manifest;
let edge: EdgeServer;
const devices: Device[] = [];
const stoppers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  golden = await loadGolden();
  ({ manifest } = await loadManifest());
  edge = await createEdgeServer({ models: MODELS, port: 0, workers: 1 });
});
afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
});
afterAll(async () => {
  await Promise.all(stoppers.map((s) => s()));
  await edge.close();
});

async function device(options: Omit<DeviceOptions, 'bundle'> & { bundle?: DeviceOptions['bundle'] }): Promise<Device> {
  const d = await createDevice({ bundle: TINY, ...options });
  devices.push(d);
  return d;
}

const image = (i: number): Uint8Array => Uint8Array.from(golden.images[i]!);
const IMAGES = [0, 1, 2, 3];
/** A device's `send`-th request to the edge (from 0) asks for the server's timings when this is true. */
const asksTimings = (send: number): boolean => send % TIMINGS_EVERY === 0;
/**
 * Wire bytes of a device's `send`-th request (ids below 128, the connection's deadline) with
 * `payloadBytes` of payload: WANT_TIMINGS on one send in TIMINGS_EVERY costs 2 bytes.
 */
const requestBytes = (payloadBytes: number, rate = 0, more: Omit<RequestInit, 'rate' | 'payload'> = {}, send = 1): number => {
  const want = (more.want ?? 0) | (asksTimings(send) ? pb.Want.WANT_TIMINGS : 0);
  const frame = encodeFrame({ type: 'request', request: { id: 1, rate, payload: new Uint8Array(payloadBytes), ...more, want } }).length;
  return frame + (frame < 126 ? 2 : 4) + 4;
};
/** Wire bytes of the class answer to a device's `send`-th request (with the server's timings when it asked; one request per batch). */
const answerBytes = (r: InferResult, send: number): number => {
  const us = (ms: number): number => Math.round(ms * 1000);
  const t = r.timings.server;
  const timings = asksTimings(send) ? { timings: { queueUs: us(t.queue), decodeUs: us(t.decode), computeUs: us(t.compute), batchSize: 1 } } : {};
  return encodeFrame({ type: 'answer', answer: { id: 1, label: r.label, confidence: Math.round(r.confidence * 255), ...timings } }).length + 2;
};

/** A device class whose compute is 1,000 MAC/s: the head "takes" 12.5 s, so sending always wins. */
const SLOW: DeviceProfile = {
  name: 'slow board on wifi',
  radio: RADIOS.wifi,
  periodMs: 0,
  device: { id: 'slow', name: 'slow board', macsPerSecond: 1e3, activeW: 1, idleW: 0.5, links: ['wifi'], source: 'test' },
};

function expectProbsClose(got: readonly number[] | undefined, want: readonly number[], digits = 5): void {
  expect(got).toHaveLength(want.length);
  got!.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, digits));
}

// One conformance suite for both inference backends (hono's runTest style).
describe.each<BackendName>(['onnxruntime-node', 'onnxruntime-web'])('paths on %s', (backend) => {
  it("always-local: the local full model (no head, no radio), every label's probability", async () => {
    const d = await device({ backend, policy: { force: 'always-local' } });
    expect(d.backend).toBe(backend);
    for (const i of IMAGES) {
      const r = await d.infer(image(i));
      const p = probs(golden.fullLogits[i]!);
      expect(r).toMatchObject({ path: 'local', label: argmaxOf(golden.fullLogits[i]!), payloadBytes: 0, bytesUp: 0, bytesDown: 0 });
      expect(r.labelName).toBe(manifest.labels[r.label]);
      expect(r.reason).toBeUndefined();
      expect(r.ratePoint).toBeUndefined();
      expect(r.confidence).toBeCloseTo(p[r.label]!, 5);
      expectProbsClose(r.scores, p);
      expect(r.timings.head).toBe(0);
      expect(r.energy.radioJ).toBe(0);
    }
  });

  it('always-offload at rate point 0: the exporter’s s1 payload goes up, the split prediction comes back', async () => {
    const d = await device({ backend, edge: edge.url, policy: { force: 'always-offload', ratePoint: 0 } });
    expect(d.connected).toBe(true);
    for (const i of IMAGES) {
      const r = await d.infer(image(i));
      const p = probs(golden.rates.s1.tailLogits[i]!);
      expect(r).toMatchObject({ path: 'edge', ratePoint: 's1', label: golden.splitPredictions.s1[i], payloadBytes: golden.rates.s1.payloads[i]!.length / 2 });
      expect(r.labelName).toBe(manifest.labels[r.label]);
      expect(Math.abs(r.confidence - p[r.label]!)).toBeLessThanOrEqual(1 / 255);
      expect(r.bytesUp).toBe(requestBytes(r.payloadBytes, 0, {}, i));
      expect(r.bytesDown).toBe(answerBytes(r, i));
      expect(r.energy.radioJ).toBeGreaterThan(0);
    }
  });
});

describe('always-offload at each rate point', () => {
  it('u4 (uniform 4-bit, 49 bytes) and f16 (float16, zstd when smaller) answer like the split model at that point', async () => {
    const u4 = await device({ edge: edge.url, policy: { force: 'always-offload', ratePoint: 1 } });
    const f16 = await device({ edge: edge.url, policy: { force: 'always-offload', ratePoint: 2 } });
    for (const i of IMAGES) {
      const a = await u4.infer(image(i));
      expect(a).toMatchObject({ path: 'edge', ratePoint: 'u4', label: golden.splitPredictions.u4[i], payloadBytes: 49, bytesUp: requestBytes(49, 1, {}, i) });
      expect(Math.abs(a.confidence - probs(golden.rates.u4.tailLogits[i]!)[a.label]!)).toBeLessThanOrEqual(1 / 255);
      const b = await f16.infer(image(i));
      expect(b).toMatchObject({ path: 'edge', ratePoint: 'f16', label: golden.splitPredictions.f16[i] });
      expect(b.payloadBytes).toBeLessThanOrEqual(2 * 98);
      expect(b.bytesUp).toBe(requestBytes(b.payloadBytes, 2, { zstd: b.payloadBytes < 2 * 98 }, i)); // wrapped only when smaller
    }
  });
});

describe('full offload', () => {
  it("sends the raw image (zstd-wrapped when smaller) to the edge's full model: ratePoint 'input', no head", async () => {
    const zstd = await loadZstd();
    const d = await device({ edge: edge.url, policy: { force: 'full-offload' } });
    for (const i of IMAGES) {
      const r = await d.infer(image(i));
      const p = probs(golden.fullLogits[i]!);
      const enc = encodeInput(image(i), [28, 28], { codec: 'raw' }, { zstd });
      expect(r).toMatchObject({ path: 'edge', ratePoint: 'input', label: argmaxOf(golden.fullLogits[i]!), payloadBytes: enc.payload.length });
      expect(Math.abs(r.confidence - p[r.label]!)).toBeLessThanOrEqual(1 / 255);
      expect(r.bytesUp).toBe(requestBytes(enc.payload.length, 0, { graph: pb.Graph.GRAPH_FULL, zstd: enc.zstd }, i));
      expect(r.timings.head).toBe(0);
    }
  });

  it("with no edge configured: path 'fallback', reason 'disconnected' (not 'local')", async () => {
    const d = await device({ policy: { force: 'full-offload' } });
    const r = await d.infer(image(0));
    expect(r).toMatchObject({ path: 'fallback', reason: 'disconnected', label: argmaxOf(golden.fullLogits[0]!), bytesUp: 0 });
  });

  it("names what was to be sent: ratePoint 'input' for a full-offload fallback, edge or no edge", async () => {
    const none = await device({ policy: { force: 'full-offload' } });
    const away = await device({ edge: 'ws://127.0.0.1:1', policy: { force: 'full-offload' } });
    expect(await away.infer(image(0))).toMatchObject({ path: 'fallback', reason: 'disconnected', ratePoint: 'input' });
    expect(await none.infer(image(0))).toMatchObject({ path: 'fallback', reason: 'disconnected', ratePoint: 'input' });
  });
});

describe('exits', () => {
  const exitProbs = (i: number): number[] => probs(golden.exit0Logits[i]!);

  it('answers from the exit when its confidence reaches the threshold for maxAccuracyLoss (1: the lowest, 0.5)', async () => {
    const d = await device({ policy: { maxAccuracyLoss: 1 } });
    for (const i of IMAGES) {
      const r = await d.infer(image(i));
      expect(exitProbs(i)[argmaxOf(golden.exit0Logits[i]!)]).toBeGreaterThanOrEqual(0.5);
      expect(r).toMatchObject({ path: 'exit:0', label: argmaxOf(golden.exit0Logits[i]!), payloadBytes: 0, bytesUp: 0, bytesDown: 0 });
      expect(r.confidence).toBeCloseTo(exitProbs(i)[r.label]!, 5);
      expectProbsClose(r.scores, exitProbs(i));
      expect(r.energy.radioJ).toBe(0);
    }
  });

  it('at the default budget (0.005 against the default rate point s1, 0.765) the threshold is the manifest’s recommended 0.5: all four images exit', async () => {
    const d = await device({});
    expect(manifest.exits[0]!.recommendedThreshold).toBe(0.5);
    const paths = [];
    for (const i of IMAGES) paths.push((await d.infer(image(i))).path);
    expect(paths).toEqual(['exit:0', 'exit:0', 'exit:0', 'exit:0']);
  });

  it('a fixed exitThreshold (0.99) overrides the calibrated one: images 2 and 3 exit (0.997, 0.990), 0 and 1 do not', async () => {
    const offline = await device({ policy: { exitThreshold: 0.99 } });
    const forced = await device({ policy: { force: 'exit-then-offload', exitThreshold: 0.99 } });
    const paths = [];
    for (const i of IMAGES) paths.push((await offline.infer(image(i))).path);
    expect(paths).toEqual(['local', 'local', 'exit:0', 'exit:0']);
    // exit-then-offload with no edge: the non-exits were to be offloaded at the default rate point.
    const r = await forced.infer(image(1));
    expect(r).toMatchObject({ path: 'fallback', reason: 'disconnected', ratePoint: 's1', label: argmaxOf(golden.fullLogits[1]!) });
    expect((await forced.infer(image(2))).path).toBe('exit:0');
  });

  it('always-offload and always-local never exit', async () => {
    const off = await device({ edge: edge.url, policy: { force: 'always-offload', ratePoint: 0, maxAccuracyLoss: 1 } });
    const loc = await device({ policy: { force: 'always-local', maxAccuracyLoss: 1 } });
    expect((await off.infer(image(2))).path).toBe('edge');
    expect((await loc.infer(image(2))).path).toBe('local');
  });
});

describe('adaptive', () => {
  it('on a microcontroller (modelled: local 0.17 ms beats any send), answers from the exit or locally', async () => {
    const d = await device({ edge: edge.url, profile: { device: 'mcu', link: 'wifi' }, policy: { exitThreshold: 0.99 } });
    expect(d.connected).toBe(true);
    const paths = [];
    for (const i of IMAGES) paths.push((await d.infer(image(i))).path);
    expect(paths).toEqual(['local', 'local', 'exit:0', 'exit:0']);
  });

  it('on a very slow device with a fixed rate point, offloads what does not exit', async () => {
    const d = await device({ edge: edge.url, profile: SLOW, policy: { ratePoint: 0, exitThreshold: 0.99 } });
    const rs: InferResult[] = [];
    for (const i of IMAGES) rs.push(await d.infer(image(i)));
    expect(rs.map((r) => r.path)).toEqual(['edge', 'edge', 'exit:0', 'exit:0']);
    expect(rs.map((r) => r.label)).toEqual([
      golden.splitPredictions.s1[0],
      golden.splitPredictions.s1[1],
      argmaxOf(golden.exit0Logits[2]!),
      argmaxOf(golden.exit0Logits[3]!),
    ]);
  });

  it('on a very slow modelled device, sends the raw input before the head every time: its compute is modelled from MACs, so nothing is re-timed', async () => {
    const d = await device({ edge: edge.url, profile: SLOW, policy: { exitThreshold: 0.99 } });
    const paths: string[] = [];
    const points = new Set<string | undefined>();
    for (let k = 0; k < 2 * STALE_AFTER + 10; k++) {
      const r = await d.infer(image(k % 4));
      paths.push(r.path);
      if (r.path === 'edge') points.add(r.ratePoint);
    }
    expect(STALE_AFTER).toBe(50);
    expect(paths).toEqual(new Array<string>(2 * STALE_AFTER + 10).fill('edge'));
    expect([...points]).toEqual(['input']);
  });
});

describe('CostTracker.stale', () => {
  const sizes = { split: new Map([[0, 40]]), full: 500, down: 12 };
  it('a measured path is stale after STALE_AFTER requests without it; a path modelled from MACs never is', () => {
    const measured = new CostTracker(deviceClass('host'), { head: 1e6, full: 3e7 }, { headMs: 1, localMs: 5 }, sizes);
    const modelled = new CostTracker(deviceClass('mcu'), { head: 1e6, full: 3e7 }, { headMs: 1, localMs: 5 }, sizes);
    const noMacs = new CostTracker(deviceClass('mcu'), {}, { headMs: 1, localMs: 5 }, sizes);
    for (const t of [measured, modelled, noMacs]) t.sinceLocal = t.sinceHead = STALE_AFTER - 1;
    expect([measured.stale('local'), modelled.stale('local'), noMacs.stale('local')]).toEqual([false, false, false]);
    for (const t of [measured, modelled, noMacs]) t.sinceLocal = t.sinceHead = STALE_AFTER;
    expect([measured.stale('local'), measured.stale('head')]).toEqual([true, true]);
    expect([modelled.stale('local'), modelled.stale('head')]).toEqual([false, false]);
    // Without the bundle's MACs even a class with a throughput uses the measured time: re-timing it counts.
    expect([noMacs.stale('local'), noMacs.stale('head')]).toEqual([true, true]);
  });
});

describe('CostTracker: what a way of sending measured expires', () => {
  const sizes = { split: new Map([[0, 40]]), full: 500, down: 12 };
  it('not renewed for STALE_AFTER requests, its round trip and server time give way to the estimate from the link; the next sample starts afresh', () => {
    const t = new CostTracker(deviceClass('mcu'), { head: 1e6, full: 3e7 }, { headMs: 1, localMs: 5 }, sizes);
    expect(t.inputs(0).full).toEqual({ bytesUp: 500, bytesDown: 12, serverMs: 1 }); // nothing measured: the sizes and 1 ms
    t.weigh('full');
    t.observeSend('full', 30, 10, 0, { up: 400, down: 14 }); // one slow round trip, a cold edge's server time
    for (let i = 0; i < STALE_AFTER - 1; i++) t.weigh('full');
    expect(t.inputs(0).full).toEqual({ bytesUp: 400, bytesDown: 14, serverMs: 10, busyMs: 30 });
    t.observeSend('full', 10, undefined, 0); // renewed (no timings asked): the round trip's average goes on
    expect(t.inputs(0).full).toEqual({ bytesUp: 400, bytesDown: 14, serverMs: 10, busyMs: 30 + 0.3 * (10 - 30) });
    t.weigh('full');
    // The server time was measured STALE_AFTER requests ago: expired, though the round trip was renewed.
    expect(t.inputs(0).full).toEqual({ bytesUp: 400, bytesDown: 14, serverMs: 1, busyMs: 30 + 0.3 * (10 - 30) });
    for (let i = 0; i < STALE_AFTER - 1; i++) t.weigh('full');
    // Both expired: the policy estimates from the link (rtt + transfers + 1 ms); the bytes stay.
    expect(t.inputs(0).full).toEqual({ bytesUp: 400, bytesDown: 14, serverMs: 1 });
    t.observeSend('full', 6, 2, 0);
    expect(t.inputs(0).full).toMatchObject({ busyMs: 6, serverMs: 2 });
    // A way of sending it keeps taking never expires.
    for (let i = 0; i < 3 * STALE_AFTER; i++) {
      t.weigh('full');
      t.observeSend('full', 6, 2, 0);
    }
    expect(t.inputs(0).full).toMatchObject({ busyMs: 6, serverMs: 2 });
    // Each way ages on its own: the split way was never measured.
    expect(t.inputs(0).split.get(0)).toEqual({ bytesUp: 40, bytesDown: 12, serverMs: 1 });
  });

  it('a split way ages only by the decisions that weighed a split (heads that did not exit), not by full offload', () => {
    const t = new CostTracker(deviceClass('mcu'), { head: 1e6, full: 3e7 }, { headMs: 1, localMs: 5 }, sizes);
    t.weigh('split');
    t.observeSend('0', 12, 3, 0);
    for (let i = 0; i < 10 * STALE_AFTER; i++) t.weigh('full'); // exits and full-offload decisions
    expect(t.inputs(0).split.get(0)).toMatchObject({ busyMs: 12, serverMs: 3 });
    for (let i = 0; i < STALE_AFTER - 1; i++) t.weigh('split');
    expect(t.inputs(0).split.get(0)).toMatchObject({ busyMs: 12, serverMs: 3 });
    t.weigh('split');
    expect(t.inputs(0).split.get(0)).toEqual({ bytesUp: 40, bytesDown: 12, serverMs: 1 });
  });

  it('stands twice as long after each sample that came only after expiry (a re-try), up to STALE_AFTER_MAX; a renewal before expiry resets it', () => {
    const t = new CostTracker(deviceClass('mcu'), { head: 1e6, full: 3e7 }, { headMs: 1, localMs: 5 }, sizes);
    const begin = (n: number): void => {
      for (let i = 0; i < n; i++) t.weigh('full');
    };
    /** How many requests the round trip measured now stands for. */
    const stands = (): number => {
      let n = 0;
      while (t.inputs(0).full.busyMs !== undefined) {
        t.weigh('full');
        n++;
      }
      return n;
    };
    t.observeSend('full', 30, undefined, 0);
    expect(stands()).toBe(STALE_AFTER);
    const lives: number[] = [];
    for (let i = 0; i < 6; i++) {
      t.observeSend('full', 30, undefined, 0); // the re-try, after expiry: the way lost again
      lives.push(stands());
    }
    expect(lives).toEqual([2, 4, 8, 16, 16, 16].map((k) => k * STALE_AFTER));
    expect(STALE_AFTER_MAX).toBe(16 * STALE_AFTER);
    t.observeSend('full', 30, undefined, 0); // a re-try that won: taken again at once
    begin(1);
    t.observeSend('full', 6, undefined, 0);
    expect(t.inputs(0).full.busyMs).toBe(30 + 0.3 * (6 - 30));
    expect(stands()).toBe(STALE_AFTER);
  });
});

describe('topK, scores and outputs', () => {
  it('local answers always carry every score; topK ranks them (at most the label count)', async () => {
    const d = await device({ policy: { force: 'always-local' } });
    for (const i of IMAGES) {
      const r = await d.infer(image(i), { topK: 3 });
      const p = probs(golden.fullLogits[i]!);
      expect(r.topK!.map((t) => t.label)).toEqual(ranking(golden.fullLogits[i]!).slice(0, 3));
      r.topK!.forEach((t) => expect(t.score).toBeCloseTo(p[t.label]!, 5));
      expectProbsClose(r.scores, p);
    }
    expect((await d.infer(image(0), { topK: 20 })).topK).toHaveLength(10);
  });

  it('from the edge: scores when asked (every label), topK when asked (best first, with scores)', async () => {
    const d = await device({ edge: edge.url, policy: { force: 'always-offload', ratePoint: 0 } });
    for (const i of IMAGES) {
      const p = probs(golden.rates.s1.tailLogits[i]!);
      const plain = await d.infer(image(i));
      expect(plain.scores).toBeUndefined();
      expect(plain.topK).toBeUndefined();
      const s = await d.infer(image(i), { scores: true });
      expectProbsClose(s.scores, p);
      const t = await d.infer(image(i), { topK: 3 });
      expect(t.topK!.map((x) => x.label)).toEqual(ranking(golden.rates.s1.tailLogits[i]!).slice(0, 3));
      t.topK!.forEach((x) => expect(x.score).toBeCloseTo(p[x.label]!, 5));
      expect(t.topK![0]!.label).toBe(t.label);
    }
  });

  it('from the edge, scores and topK together: every label’s score and the k best', async () => {
    const d = await device({ edge: edge.url, policy: { force: 'always-offload', ratePoint: 0 } });
    const r = await d.infer(image(1), { scores: true, topK: 2 });
    expect(r.topK!.map((x) => x.label)).toEqual(ranking(golden.rates.s1.tailLogits[1]!).slice(0, 2));
    expectProbsClose(r.scores, probs(golden.rates.s1.tailLogits[1]!));
  });

  it('outputs from the edge: the tail logits, per-sample shape [10]', async () => {
    const d = await device({ edge: edge.url, policy: { force: 'always-offload', ratePoint: 0 } });
    for (const i of IMAGES) {
      const o = (await d.infer(image(i), { outputs: true })).outputs!.logits!;
      expect(o.dims).toEqual([10]);
      expect(o.data).toHaveLength(10);
      Array.from(o.data as Float32Array).forEach((v, k) => expect(v).toBeCloseTo(golden.rates.s1.tailLogits[i]![k]!, 4));
    }
  });

  it('outputs from the local model: the full logits, the same per-sample shape as from the edge', async () => {
    const d = await device({ policy: { force: 'always-local' } });
    const o = (await d.infer(image(1), { outputs: true })).outputs!.logits!;
    Array.from(o.data as Float32Array).forEach((v, k) => expect(v).toBeCloseTo(golden.fullLogits[1]![k]!, 4));
    expect(o.dims).toEqual([10]);
  });
});

describe('fallback: every infer() resolves', () => {
  it('connectWaitMs 0: resolves before the handshake, answers locally meanwhile, then offloads once connected', async () => {
    // A proxy that holds every connection until released: the handshake cannot finish before.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const held = createServer((client) => {
      client.pause();
      void released.then(() => {
        const up = createConnection(Number(new URL(edge.url).port), '127.0.0.1');
        client.pipe(up).pipe(client);
        client.resume();
        for (const s of [client, up]) s.on('error', () => (client.destroy(), up.destroy()));
      });
    });
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
    stoppers.push(() => new Promise((r) => held.close(() => r())));
    const d = await device({
      edge: `ws://127.0.0.1:${(held.address() as { port: number }).port}`,
      connectWaitMs: 0,
      policy: { force: 'always-offload', ratePoint: 0 },
    });
    expect(d.connected).toBe(false);
    expect(await d.infer(image(0))).toMatchObject({ path: 'fallback', reason: 'disconnected' });
    release();
    expect(await d.whenConnected(10_000)).toBe(true);
    expect(await d.infer(image(1))).toMatchObject({ path: 'edge', ratePoint: 's1', label: golden.splitPredictions.s1[1] });
  });

  it("edge taken away: 'disconnected', answered by the local model", async () => {
    const server = await createEdgeServer({ models: MODELS, port: 0, workers: 1 });
    const d = await device({ edge: server.url, policy: { force: 'always-offload', ratePoint: 0 } });
    expect((await d.infer(image(0))).path).toBe('edge');
    await server.close();
    await until(() => !d.connected, 5000, 'the device noticing the edge left');
    const r = await d.infer(image(1));
    expect(r).toMatchObject({ path: 'fallback', reason: 'disconnected', ratePoint: 's1', label: argmaxOf(golden.fullLogits[1]!), bytesUp: 0, bytesDown: 0 });
    expectProbsClose(r.scores, probs(golden.fullLogits[1]!));
  });

  it('edge going away with 20 requests under way: each resolves by fallback, with the bytes it sent (if it got to send)', async () => {
    const server = await createEdgeServer({ models: MODELS, port: 0, workers: 1, maxQueueDelayUs: 5_000_000 });
    const d = await device({ edge: server.url, deadlineMs: 10_000, policy: { force: 'always-offload', ratePoint: 0 } });
    const pending = Array.from({ length: 20 }, (_, k) => d.infer(image(k % 4)));
    await server.close();
    const results = await Promise.all(pending);
    results.forEach((r, k) => {
      expect(r.path).toBe('fallback');
      expect(['disconnected', 'server-error:SHUTTING_DOWN']).toContain(r.reason);
      expect(r.label).toBe(argmaxOf(golden.fullLogits[k % 4]!));
      // Found the edge gone (nothing sent), or sent before it went: payload + framing (every 8th
      // request asks for server timings: 2 bytes more).
      expect([0, requestBytes(r.payloadBytes), requestBytes(r.payloadBytes, 0, {}, 0)]).toContain(r.bytesUp);
    });
  });

  it("refused Hello (the edge serves another manifest for tiny 0.2.0): 'refused', without waiting for the deadline", async () => {
    const copy = await copyTiny((m) => {
      (m.provenance as Record<string, unknown>).createdAt = '2000-01-01T00:00:00Z';
    });
    stoppers.push(copy.remove);
    const other = await createEdgeServer({ models: copy.root, port: 0, workers: 1 });
    stoppers.push(() => other.close());
    const d = await device({ edge: other.url, deadlineMs: 60_000, policy: { force: 'always-offload', ratePoint: 0 } });
    expect(d.connected).toBe(false);
    expect(await d.whenConnected(60_000)).toBe(false);
    const r = await d.infer(image(2));
    expect(r).toMatchObject({ path: 'fallback', reason: 'refused', ratePoint: 's1', label: argmaxOf(golden.fullLogits[2]!), bytesUp: 0 });
  });

  it("an edge that never answers: 'timeout' at the deadline, the bytes sent counted", async () => {
    const silent = await FakeEdge.start();
    stoppers.push(() => silent.close());
    const d = await device({ edge: silent.url, deadlineMs: 100, policy: { force: 'always-offload', ratePoint: 0 } });
    expect(d.connected).toBe(true);
    const r = await d.infer(image(3));
    expect(r).toMatchObject({
      path: 'fallback',
      reason: 'timeout',
      ratePoint: 's1',
      label: argmaxOf(golden.fullLogits[3]!),
      payloadBytes: 16,
      bytesUp: requestBytes(16, 0, {}, 0),
      bytesDown: 0,
    });
    expect(silent.received[0]!.request.deadlineMs).toBe(0); // the Hello's deadline (100 ms) applies
    expect(silent.hellos[0]!.deadlineMs).toBe(100);
    expect(r.energy.radioJ).toBeGreaterThan(0);
  });

  it("a slow edge: each request past its deadline ends 'timeout', the next one too (its id is not one the edge still holds)", async () => {
    const slow = await createEdgeServer({ models: MODELS, port: 0, workers: 1, maxQueueDelayUs: 5_000_000 });
    stoppers.push(() => slow.close());
    const d = await device({ edge: slow.url, deadlineMs: 100, policy: { force: 'always-offload', ratePoint: 0 } });
    const reasons = [];
    for (const i of [0, 1]) reasons.push((await d.infer(image(i))).reason);
    expect(reasons).toEqual(['timeout', 'timeout']);
  });

  it("no edge at the address: 'disconnected'", async () => {
    const d = await device({ edge: 'ws://127.0.0.1:1', policy: { force: 'always-offload', ratePoint: 0 } });
    expect(await d.infer(image(0))).toMatchObject({ path: 'fallback', reason: 'disconnected', ratePoint: 's1', label: argmaxOf(golden.fullLogits[0]!) });
  });
});

describe('createDevice option checks', () => {
  const rejects = (options: unknown, message: string): Promise<void> =>
    expect(createDevice(options as DeviceOptions)).rejects.toMatchObject({ name: 'OfframpError', code: 'INVALID_ARGUMENT', message });

  it('refuses an edge that is not a ws:// or wss:// URL', async () => {
    await rejects({ bundle: TINY, edge: 'localhost:8080' }, 'edge must be a ws:// or wss:// URL, got "localhost:8080"');
    await rejects({ bundle: TINY, edge: 'http://127.0.0.1:8080' }, 'edge must be a ws:// or wss:// URL, got "http://127.0.0.1:8080"');
    await rejects({ bundle: TINY, edge: '127.0.0.1 8080' }, 'edge "127.0.0.1 8080" is not a URL (expected ws://host:port or wss://host:port)');
  });

  it('refuses policy options outside their ranges, naming them', async () => {
    await rejects(
      { bundle: TINY, policy: { force: 'sometimes' } },
      'policy.force must be one of always-offload, always-local, exit-then-offload, full-offload, got "sometimes"',
    );
    await rejects({ bundle: TINY, policy: { maxAccuracyLoss: -1 } }, 'policy.maxAccuracyLoss is a fraction in [0, 1] (0.005 = half a point), got -1');
    await rejects({ bundle: TINY, policy: { maxAccuracyLoss: 2 } }, 'policy.maxAccuracyLoss is a fraction in [0, 1] (0.005 = half a point), got 2');
    await rejects({ bundle: TINY, policy: { objective: 'speed' } }, 'policy.objective must be one of latency, energy, accuracy, got "speed"');
    await rejects({ bundle: TINY, policy: { ratePoint: 3 } }, 'policy.ratePoint must be a rate point index 0..2, got 3');
    await rejects({ bundle: TINY, policy: { objective: 'accuracy', latencyBudgetMs: 0 } }, 'policy.latencyBudgetMs must be positive, got 0');
  });

  it('refuses unknown device classes and links, and missing options', async () => {
    await rejects(
      { bundle: TINY, profile: { device: 'toaster', link: 'wifi' } },
      "unknown device class 'toaster': use one of host, mcu, phone-low, phone-mid, rpi4, laptop",
    );
    await rejects({ bundle: TINY, profile: { device: 'mcu', link: 'pigeon' } }, "unknown link 'pigeon': use one of lte, 3g, wifi, 5g");
    await rejects(null, 'createDevice needs options: { bundle, edge?, policy?, profile? }');
    await rejects({ bundle: TINY, backend: 'onnxruntime-web', headInWorker: true }, 'headInWorker needs Node.js and the onnxruntime-node backend');
    await rejects({ bundle: TINY, policy: { exitThreshold: 0 } }, 'policy.exitThreshold is a confidence in (0, 1], got 0');
    await rejects({ bundle: TINY, policy: { exitThreshold: 1.5 } }, 'policy.exitThreshold is a confidence in (0, 1], got 1.5');
  });
});

describe('infer() argument checks', () => {
  const RAW = 'a Uint8Array of 784 values (shape [28, 28], plain)';
  it('refuses what is not a sample of this bundle, saying what it takes', async () => {
    const d = await device({ policy: { force: 'always-local' } });
    const invalid = (sample: unknown, message: string): Promise<void> =>
      expect(d.infer(sample as Uint8Array)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message });
    await invalid(null, `infer() needs a sample: ${RAW}, or { normalized: Float32Array } of 784 values`);
    await invalid(
      Float32Array.from(image(0)),
      `tiny takes raw samples as ${RAW}; got a Float32Array (to pass an already-normalised input, use { normalized: Float32Array })`,
    );
    await invalid(new Uint8Array(783), `the sample has 783 values; tiny takes ${RAW}`);
    await invalid(Array.from(image(0)), `tiny takes raw samples as ${RAW}; got an Array (wrap it: new Uint8Array(array))`);
    await invalid({ normalized: new Float32Array(10) }, '{ normalized } has 10 values; tiny takes 784');
    await invalid({ normalized: new Float32Array(784).fill(NaN) }, '{ normalized } value 0 is not finite (NaN)');
    await expect(d.infer(image(0), { topK: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'topK must be a non-negative integer, got -1' });
  });

  it('takes { normalized } model input and Uint8ClampedArray samples, answering as for the raw bytes', async () => {
    const loc = await device({ policy: { force: 'always-local' } });
    const off = await device({ edge: edge.url, policy: { force: 'full-offload' } });
    for (const i of IMAGES) {
      const x = normalizeInto(image(i), manifest.input, new Float32Array(784));
      const [a, b, c] = [await loc.infer(image(i)), await loc.infer({ normalized: x }), await loc.infer(Uint8ClampedArray.from(image(i)))];
      expect(b.scores).toEqual(a.scores);
      expect(c.scores).toEqual(a.scores);
      // Full offload turns the model input back into the raw bytes it came from.
      const [e, f] = [await off.infer(image(i)), await off.infer({ normalized: x })];
      expect(f).toMatchObject({ path: 'edge', label: e.label, confidence: e.confidence, payloadBytes: e.payloadBytes });
    }
  });
});

describe('bundles', () => {
  it('runs from files in memory, and refuses a tampered or missing one', async () => {
    const files = await tinyFiles();
    const d = await device({ bundle: { files }, edge: edge.url, policy: { force: 'always-offload', ratePoint: 0 } });
    expect(d.manifest.id).toBe('tiny');
    for (const i of IMAGES) expect((await d.infer(image(i))).label).toBe(golden.splitPredictions.s1[i]);
    for (const name of ['head.onnx', 'full.onnx', 'entropy-s1.json']) {
      const bad = Uint8Array.from(files[name]!);
      bad[bad.length - 2] = bad[bad.length - 2]! ^ 1;
      await expect(createDevice({ bundle: { files: { ...files, [name]: bad } } })).rejects.toMatchObject({ code: 'BUNDLE_HASH_MISMATCH' });
    }
    const withoutFull = { ...files };
    delete withoutFull['full.onnx'];
    await expect(createDevice({ bundle: { files: withoutFull } })).rejects.toMatchObject({
      code: 'BUNDLE_FILE_MISSING',
      message: 'the in-memory bundle has no full.onnx',
    });
  });

  it("fetches the bundle from the edge's /v1/models/<id>/<version>/ and agrees with it on the manifest", async () => {
    const base = `${edge.url.replace(/^ws/, 'http')}/v1/models/tiny/${manifest.version}/`;
    const d = await device({ bundle: base, edge: edge.url, policy: { force: 'always-offload', ratePoint: 0 } });
    expect(d.connected).toBe(true);
    for (const i of IMAGES) expect((await d.infer(image(i))).label).toBe(golden.splitPredictions.s1[i]);
    await expect(createDevice({ bundle: base.replace(manifest.version, '9.9.9') })).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING' });
  });

  it('refuses a served file whose bytes do not match the manifest', async () => {
    const copy = await copyTiny();
    stoppers.push(copy.remove);
    const server = await createEdgeServer({ models: copy.root, port: 0, workers: 1 });
    stoppers.push(() => server.close());
    const file = join(copy.dir, 'full.onnx');
    const bad = await readFile(file);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1; // changed on disk after the edge verified it
    await writeFile(file, bad);
    await expect(createDevice({ bundle: `${server.url.replace(/^ws/, 'http')}/v1/models/tiny/${manifest.version}` })).rejects.toMatchObject({
      code: 'BUNDLE_HASH_MISMATCH',
    });
  });

  it('gives up on a server that never answers, with a typed error naming the fetch timeout', async () => {
    const held = new Set<Socket>();
    const silent = createServer((sock) => held.add(sock));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      await expect(createDevice({ bundle: `http://127.0.0.1:${port}/v1/models/tiny/0.2.0/`, fetchTimeoutMs: 200 })).rejects.toMatchObject({
        code: 'BUNDLE_FILE_MISSING',
        message: `manifest.json: cannot fetch from http://127.0.0.1:${port}/v1/models/tiny/0.2.0/: no complete answer within 200 ms`,
      });
    } finally {
      for (const sock of held) sock.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('modelled device profile', () => {
  const MCU_MACS = 1.39e8;

  it('mcu on wifi: head time = head MACs / 1.39e8 s, compute energy = 0.235 W × that, for an exit answer', async () => {
    const d = await device({ profile: { device: 'mcu', link: 'wifi' }, policy: { maxAccuracyLoss: 1 } });
    expect(d.profile.name).toBe('mcu on wifi');
    const r = await d.infer(image(2));
    const headMs = ((manifest.macs!.head + (manifest.macs!.exits ?? 0)) / MCU_MACS) * 1000;
    expect(r.path).toBe('exit:0');
    expect(r.timings.head).toBe(headMs);
    expect(r.timings.total).toBe(headMs);
    expect(r.energy).toMatchObject({ computeJ: (0.235 * headMs) / 1000, radioJ: 0, totalJ: (0.235 * headMs) / 1000 });
    // What this machine took is reported apart from the modelled figures.
    expect(r.measured).toMatchObject({ encode: 0, busy: 0, local: 0 });
    expect(r.measured.wall).toBeGreaterThanOrEqual(r.measured.head);
    expect(r.energy.model).toBe(
      'microcontroller (ESP32-S3 class) (0.139 GMAC/s modelled, 0.235 W active, 0.105 W idle) on WiFi (Huang et al., MobiSys 2012 (tail time checked against AT&T ARO)), one inference every — ms',
    );
  });

  it('mcu on wifi, always-local: local time = full MACs / 1.39e8 s', async () => {
    const d = await device({ profile: { device: 'mcu', link: 'wifi' }, policy: { force: 'always-local' } });
    const r = await d.infer(image(0));
    const localMs = (manifest.macs!.full / MCU_MACS) * 1000;
    expect(r.timings).toEqual({ head: 0, encode: 0, network: 0, server: { queue: 0, decode: 0, compute: 0 }, local: localMs, total: localMs });
    expect(r.energy.computeJ).toBe((0.235 * localMs) / 1000);
  });
});

describe('head in a worker thread', () => {
  it('answers like the head on the main thread', async () => {
    const inWorker = await device({ headInWorker: true, policy: { maxAccuracyLoss: 1 } });
    const inline = await device({ policy: { maxAccuracyLoss: 1 } });
    for (const i of IMAGES) {
      const [a, b] = [await inWorker.infer(image(i)), await inline.infer(image(i))];
      expect(a.path).toBe('exit:0');
      expect(a.label).toBe(b.label);
      expect(a.scores).toEqual(b.scores);
    }
  });
});
