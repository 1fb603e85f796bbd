import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFeatures } from '../../bottleneck/index.js';
import { EdgeTransport, type TransportOptions } from '../../head/transport.js';
import { argmax, type InferRequest, type LoadedBundle } from '../../protocol/index.js';
import { createEdgeServer, type EdgeServer, type EdgeServerOptions } from '../../tail/index.js';
import { tinyModels, type Golden } from '../tail/client.js';

let models: string;
let bundle: LoadedBundle;
let golden: Golden;
let cleanup: () => Promise<void>;
const servers: EdgeServer[] = [];

beforeAll(async () => {
  ({ models, bundle, golden, cleanup } = await tinyModels());
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await cleanup();
});

async function start(over: Partial<EdgeServerOptions> = {}): Promise<EdgeServer> {
  const s = await createEdgeServer({ models, port: 0, workers: 1, ...over });
  servers.push(s);
  return s;
}

function transport(url: string, over: Partial<TransportOptions> = {}): EdgeTransport {
  return new EdgeTransport({ url, bundle: { id: 'tiny', version: bundle.manifest.version, manifestSha256: bundle.manifestSha256 }, codecs: ['none', 'zstd'], bitWidths: [2, 4, 8], backoffMs: 10, maxBackoffMs: 50, ...over });
}

function request(i: number, bits = 8): Omit<InferRequest, 'id' | 'deadlineMs'> {
  const m = bundle.manifest;
  const enc = encodeFeatures(Float32Array.from(golden.features[i]!), { shape: [1, ...m.bottleneck.shape], bits, range: m.bottleneck.range });
  return { type: 'inferRequest', name: 'features', datatype: 'FP32', encoding: enc.meta, raw: enc.bytes, exitIndex: -1, exitConfidence: 0, graph: 'tail' };
}

describe('EdgeTransport', () => {
  it('handshakes and gets answers with byte counts', async () => {
    const t = transport((await start()).url);
    expect(await t.whenReady(5000)).toBe(true);
    expect(t.terms?.limits.maxInFlight).toBe(64);
    const outcomes = await Promise.all([0, 1, 2, 3].map((i) => t.request(request(i), 5000)));
    outcomes.forEach((o, i) => {
      if (!o.ok) throw new Error(o.message);
      expect(o.response.label).toBe(argmax(golden.splitLogitsByBits['8']![i]!));
      expect(o.bytesUp).toBeGreaterThan(98);
      expect(o.bytesDown).toBeGreaterThan(40);
    });
    await t.close();
  });

  it('takes its first RTT sample from the handshake, before any ping (browsers cannot ping)', async () => {
    const rtts: number[] = [];
    const t = transport((await start()).url, { heartbeatMs: 3_600_000, onRtt: (ms) => rtts.push(ms) });
    expect(await t.whenReady(5000)).toBe(true);
    expect(rtts).toHaveLength(1);
    expect(rtts[0]).toBeGreaterThan(0);
    expect(rtts[0]).toBeLessThan(1000);
    await t.close();
  });

  it("ends a request at its deadline with 'timeout' when the edge is slow", async () => {
    const t = transport((await start({ maxQueueDelayUs: 5_000_000 })).url);
    await t.whenReady(5000);
    const o = await t.request(request(0), 50);
    expect(o).toMatchObject({ ok: false, reason: 'timeout', message: 'no answer within 50 ms' });
    await t.close();
  });

  it("reports server errors as 'server-error:<code>'", async () => {
    const t = transport((await start()).url);
    await t.whenReady(5000);
    const o = await t.request(request(0, 3), 5000);
    expect(o).toMatchObject({ ok: false, reason: 'server-error:BAD_REQUEST' });
    await t.close();
  });

  it("is 'refused' for a bundle the edge does not serve, and does not retry", async () => {
    const t = transport((await start()).url, { bundle: { id: 'tiny', version: bundle.manifest.version, manifestSha256: 'c'.repeat(64) } });
    expect(await t.whenReady(5000)).toBe(false);
    expect(t.refusal).toMatch(/^MODEL_MISMATCH: /);
    expect(await t.request(request(0), 1000)).toMatchObject({ ok: false, reason: 'refused' });
    await t.close();
  });

  it("answers 'disconnected' while the edge is absent, then connects when it appears", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const t = transport(`ws://127.0.0.1:${port}`);
    expect(await t.request(request(0), 1000)).toMatchObject({ ok: false, reason: 'disconnected' });
    await start({ port });
    expect(await t.whenReady(10_000)).toBe(true);
    expect((await t.request(request(0), 5000)).ok).toBe(true);
    await t.close();
  });

  it("ends in-flight requests 'disconnected' when the edge goes away", async () => {
    const server = await createEdgeServer({ models, port: 0, workers: 1, maxQueueDelayUs: 5_000_000 });
    const t = transport(server.url);
    await t.whenReady(5000);
    const pending = t.request(request(0), 10_000);
    const closed = server.close();
    expect(await pending).toMatchObject({ ok: false });
    await closed;
    await t.close();
  });

  it('close() leaves no timers or sockets behind', async () => {
    const server = await start();
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap').length;
    const t = transport(server.url);
    await t.whenReady(5000);
    await t.request(request(0), 5000);
    await t.close();
    await new Promise<void>((resolve) => setImmediate(resolve));
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap').length;
    expect(after).toBeLessThanOrEqual(before);
  });
});
