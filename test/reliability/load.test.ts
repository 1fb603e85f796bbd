/**
 * Bounded versions of the reliability promises, with real sockets: every request id ends in
 * exactly one answer or one typed error — under steady load and under overload.
 * (Full sizes: `npm run soak`, `npm run storm`.)
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchPayloads, connectionStorm, IdBits, runLoad } from '../../bench/reliability/load.js';
import { captureFrames } from '../../bench/serve-floor.js';
import { loadBundle, type LoadedBundle } from '../../protocol/bundle.js';
import { errorCodeToWire } from '../../protocol/errors.js';
import { decodeFrame, encodeFrame } from '../../protocol/frame.js';
import { createEdgeServer, type EdgeServer } from '../../tail/index.js';
import { tinyModels } from '../tail/client.js';

let models: string;
let bundle: LoadedBundle;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ models, bundle, cleanup } = await tinyModels());
});
afterAll(async () => {
  await cleanup();
});

async function withServer<T>(over: Parameters<typeof createEdgeServer>[0] extends infer O ? Partial<O> : never, fn: (s: EdgeServer) => Promise<T>): Promise<T> {
  const s = await createEdgeServer({ models, port: 0, workers: 1, ...over });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe('every request id ends in exactly one outcome', () => {
  it('steady load: 200 connections × 1 req/s for 30 s — nothing lost, nothing twice, nothing refused', async () => {
    const r = await withServer({}, (s) => runLoad({ url: s.url, bundle, connections: 200, rate: 1, seconds: 30, deadlineMs: 5000 }));
    expect(r.connected).toBe(200);
    expect(r.sent).toBeGreaterThan(5500);
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(r.errored).toEqual({});
    expect(r.answered).toBe(r.sent);
    // Its own event-loop delay was sampled over the sending window (what it adds to every latency).
    expect(r.clientLoopDelayMs.max).toBeGreaterThan(0);
    expect(r.clientLoopDelayMs.p50).toBeLessThanOrEqual(r.clientLoopDelayMs.p99);
  }, 90_000);

  it('connection storm: 2,000 handshakes (upgrade + Hello), none refused or dropped', async () => {
    const r = await withServer({}, (s) => connectionStorm({ url: s.url, bundle, connections: 2000 }));
    expect(r.failed).toEqual({});
    expect(r.handshaken).toBe(2000);
  }, 60_000);

  it('overload: a tiny queue sheds the excess with QUEUE_FULL, and still every id gets one outcome', async () => {
    const r = await withServer({ maxQueue: 4, maxBatch: 4, maxQueueDelayUs: 5000 }, (s) =>
      runLoad({ url: s.url, bundle, connections: 100, rate: 100, seconds: 3, deadlineMs: 2000 }),
    );
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(Object.keys(r.errored).every((code) => code === 'QUEUE_FULL' || code === 'DEADLINE_EXCEEDED')).toBe(true);
    expect(r.errored.QUEUE_FULL ?? 0).toBeGreaterThan(0);
    expect(r.answered).toBeGreaterThan(0);
    expect(r.answered + Object.values(r.errored).reduce((a, b) => a + b, 0)).toBe(r.sent);
    expect(r.held).toBe(0);
  }, 60_000);

  it("clients that honor QUEUE_FULL's retry-after, as the SDK does, send nothing while it runs: the requests due meanwhile are held", async () => {
    // An edge that refuses every request with a retry-after of 1 s: its real HelloAck, then QUEUE_FULL.
    const rate = bundle.manifest.bottleneck.defaultRatePoint;
    const { helloAck } = await withServer({}, (s) => captureFrames(s.url, bundle, rate, benchPayloads(bundle, rate)[0]!));
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, handleProtocols: (p) => [...p][0] ?? false });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws) => {
      let first = true;
      ws.on('message', (data: Buffer) => {
        if (first) {
          first = false;
          return ws.send(helloAck);
        }
        const r = decodeFrame(data);
        const id = r.ok && r.message.type === 'request' ? r.message.request.id : 0;
        ws.send(encodeFrame({ type: 'error', error: { id, code: errorCodeToWire('QUEUE_FULL'), message: 'full', retryAfterMs: 1000 } }));
      });
    });
    try {
      const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
      const connections = 20;
      const r = await runLoad({ url, bundle, connections, rate: 100, seconds: 2, deadlineMs: 2000, honorRetryAfter: true });
      // Each connection sends at once, then once a second at most: two or three sends in 2 s, not ~200
      // (a few more where the refusal took longer than a tick to come back).
      expect(r.sent).toBeGreaterThanOrEqual(connections);
      expect(r.sent).toBeLessThanOrEqual(6 * connections);
      expect(r.errored).toEqual({ QUEUE_FULL: r.sent });
      expect(r.held).toBeGreaterThan(10 * r.sent);
      expect(r.lost).toBe(0);
      // The same edge, clients that ignore it: every tick is sent.
      const open = await runLoad({ url, bundle, connections, rate: 100, seconds: 1, deadlineMs: 2000 });
      expect(open.held).toBe(0);
      expect(open.sent).toBeGreaterThan(10 * connections);
    } finally {
      await new Promise((resolve) => wss.close(resolve));
    }
  }, 60_000);
});

describe('the load tools themselves', () => {
  it("send the exporter's golden payloads when the bundle has them, else one synthetic feature map", async () => {
    const golden = JSON.parse(await readFile(join(bundle.dir, 'golden.json'), 'utf8')) as { rates: Record<string, { payloads: string[] }> };
    const rate = bundle.manifest.bottleneck.defaultRatePoint;
    const hex = golden.rates[bundle.manifest.bottleneck.ratePoints[rate]!.id]!.payloads;
    expect(benchPayloads(bundle, rate).map((p) => Buffer.from(p).toString('hex'))).toEqual(hex);
    const bare = await mkdtemp(join(tmpdir(), 'offramp-bare-'));
    try {
      await cp(bundle.dir, bare, { recursive: true });
      await rm(join(bare, 'golden.json'));
      const synthetic = benchPayloads(await loadBundle(bare), rate);
      expect(synthetic).toHaveLength(1);
      expect(synthetic[0]!.length).toBeGreaterThan(0);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  it('count an id seen twice as a duplicate, across the bitmap growing', () => {
    const ids = new IdBits();
    for (const id of [1, 7, 8, 8191, 8192, 100_000]) {
      expect(ids.has(id)).toBe(false);
      ids.add(id);
      expect(ids.has(id)).toBe(true);
    }
    expect([0, 2, 9, 8193, 99_999, 1_000_000].some((id) => ids.has(id))).toBe(false);
    expect([1, 7, 8, 8191, 8192, 100_000].every((id) => ids.has(id))).toBe(true);
  });

  it("the serve bench's floor replays a real HelloAck and answer, and refuses to replay anything else", async () => {
    const rate = bundle.manifest.bottleneck.defaultRatePoint;
    const [payload] = benchPayloads(bundle, rate);
    await withServer({}, async (s) => {
      const frames = await captureFrames(s.url, bundle, rate, payload!);
      const ack = decodeFrame(frames.helloAck);
      const answer = decodeFrame(frames.answer);
      expect(ack.ok && ack.message.type).toBe('helloAck');
      expect(answer.ok && answer.message.type === 'answer' && answer.message.answer.id).toBe(1);
      // A request at a rate point the handshake did not agree (the edge answers BAD_REQUEST), then one over its frame limit.
      await expect(captureFrames(s.url, bundle, 99, payload!)).rejects.toThrow(/expected answer from .*"code":"BAD_REQUEST"/);
      await expect(captureFrames(s.url, bundle, rate, new Uint8Array(70_000).fill(0xff))).rejects.toThrow(/closed after 1 of the 2 frames/);
    });
  });
});
