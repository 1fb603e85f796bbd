import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageAt, loadFashionMnistTest, type ImageSet } from '../../head/datasets/fashion-mnist.js';
import { createDevice, RADIOS, STALE_AFTER, type BackendName, type InferResult } from '../../head/index.js';
import { argmax, softmax } from '../../protocol/index.js';
import { createEdgeServer, type EdgeServer } from '../../tail/index.js';
import { TINY, tinyModels, type Golden } from '../tail/client.js';

let models: string;
let golden: Golden;
let cleanup: () => Promise<void>;
let data: ImageSet;
let edge: EdgeServer;
let slow: EdgeServer;

beforeAll(async () => {
  ({ models, golden, cleanup } = await tinyModels());
  data = await loadFashionMnistTest();
  edge = await createEdgeServer({ models, port: 0, workers: 1 });
  slow = await createEdgeServer({ models, port: 0, workers: 1, maxQueueDelayUs: 5_000_000 });
});
afterAll(async () => {
  await Promise.all([edge.close(), slow.close()]);
  await cleanup();
});

const image = (i: number): Uint8Array => Uint8Array.from(golden.images[i]!);
const softmaxOf = (logits: number[]): number[] => Array.from(softmax(Float32Array.from(logits)));

// One conformance suite for both inference backends (hono's runTest style).
describe.each<BackendName>(['onnxruntime-node', 'onnxruntime-web'])('device on %s', (backend) => {
  it('always-local answers like full.onnx', async () => {
    const d = await createDevice({ bundle: TINY, backend, policy: { force: 'always-local' } });
    for (let i = 0; i < golden.images.length; i++) {
      const r = await d.infer(image(i));
      expect(r.path).toBe('local');
      expect(r.label).toBe(argmax(golden.fullLogits[i]!));
      expect(r.bytesUp).toBe(0);
      expect(r.energy.radioJ).toBe(0);
      expect(r.energy.computeJ).toBeGreaterThan(0);
      expect(r.timings.head).toBe(0); // the baseline runs the whole local model, not the head
    }
    await d.close();
  });

  it('a modelled device scales measured compute time in its energy estimate', async () => {
    const profile = { name: 'slow board', computePowerW: 4, radio: RADIOS.wifi, computeSlowdown: 8 };
    const d = await createDevice({ bundle: TINY, backend, profile, policy: { force: 'always-local' } });
    const r = await d.infer(image(0));
    expect(r.energy.computeJ).toBeCloseTo((4 * r.timings.local * 8) / 1000, 12);
    expect(r.energy.model).toContain('measured × 8, modelled');
    await d.close();
  });

  it('full-offload sends the raw image to the edge, which answers like full.onnx', async () => {
    const d = await createDevice({ bundle: TINY, backend, edge: edge.url, policy: { force: 'full-offload' } });
    for (let i = 0; i < golden.images.length; i++) {
      const r = await d.infer(image(i));
      expect(r.path).toBe('edge');
      expect(r.bits).toBe(8);
      expect(r.timings.head).toBe(0);
      expect(r.label).toBe(argmax(golden.fullLogits[i]!));
      expect(r.scores.map((v) => v.toFixed(4))).toEqual(softmaxOf(golden.fullLogits[i]!).map((v) => v.toFixed(4)));
      expect(r.bytesUp).toBeGreaterThan(0);
      expect(r.bytesUp).toBeLessThan(784 + 128); // raw bytes (or fewer, zstd) plus the frame
    }
    // An already-normalised input is turned back into the raw sample it came from.
    const raw = image(0);
    const x = Float32Array.from(raw, (v) => v / 255);
    const [a, b] = [await d.infer(raw), await d.infer(x)];
    expect(b.label).toBe(a.label);
    expect(b.bytesUp).toBe(a.bytesUp);
    await d.close();
  });

  it('offloads to the edge and answers like the split model at the chosen width', async () => {
    const d = await createDevice({ bundle: TINY, backend, edge: edge.url, policy: { force: 'always-offload', bits: 4 } });
    for (let i = 0; i < golden.images.length; i++) {
      const r: InferResult = await d.infer(image(i));
      expect(r.path).toBe('edge');
      expect(r.bits).toBe(4);
      expect(r.label).toBe(argmax(golden.splitLogitsByBits['4']![i]!));
      expect(r.bytesUp).toBeGreaterThan(49);
      expect(r.energy.radioJ).toBeGreaterThan(0);
      expect(r.timings.total).toBeGreaterThanOrEqual(r.timings.head);
    }
    await d.close();
  });

  it('takes the exit when it is confident', async () => {
    const d = await createDevice({ bundle: TINY, backend, policy: { maxAccuracyLoss: 1, force: 'exit-then-offload' } });
    const r = await d.infer(image(0));
    expect(r.path).toBe('exit:0');
    expect(r.timings.total).toBeLessThan(1000);
    await d.close();
  });

  it("falls back locally with reason 'timeout' when the edge is slow", async () => {
    const d = await createDevice({ bundle: TINY, backend, edge: slow.url, deadlineMs: 100, policy: { force: 'always-offload' } });
    const r = await d.infer(image(1));
    expect(r).toMatchObject({ path: 'fallback', reason: 'timeout', label: argmax(golden.fullLogits[1]!) });
    await d.close();
  });

  it("falls back with reason 'disconnected' when no edge is there", async () => {
    const d = await createDevice({ bundle: TINY, backend, edge: 'ws://127.0.0.1:1', policy: { force: 'always-offload' } });
    const r = await d.infer(image(2));
    expect(r).toMatchObject({ path: 'fallback', reason: 'disconnected', label: argmax(golden.fullLogits[2]!) });
    await d.close();
  });
});

describe('head in a worker thread', () => {
  it('answers like the head on the main thread', async () => {
    const [inWorker, inline] = await Promise.all([
      createDevice({ bundle: TINY, headInWorker: true, policy: { maxAccuracyLoss: 1, force: 'exit-then-offload' } }),
      createDevice({ bundle: TINY, policy: { maxAccuracyLoss: 1, force: 'exit-then-offload' } }),
    ]);
    for (let i = 0; i < golden.images.length; i++) {
      const [a, b] = await Promise.all([inWorker.infer(image(i)), inline.infer(image(i))]);
      expect(a.path).toBe(b.path);
      expect(a.label).toBe(b.label);
      expect(a.scores).toEqual(b.scores);
    }
    await Promise.all([inWorker.close(), inline.close()]);
  });
});

describe('bundle in memory', () => {
  it('runs from buffers, and refuses a buffer whose hash does not match', async () => {
    const files: Record<string, Uint8Array> = {};
    for (const name of ['manifest.json', 'head.onnx', 'tail.onnx', 'full.onnx']) files[name] = await readFile(join(TINY, name));
    const d = await createDevice({ bundle: { files }, policy: { force: 'always-local' } });
    expect((await d.infer(image(0))).label).toBe(argmax(golden.fullLogits[0]!));
    await d.close();
    const bad = Uint8Array.from(files['head.onnx']!);
    bad[10] = bad[10]! ^ 1;
    await expect(createDevice({ bundle: { files: { ...files, 'head.onnx': bad } } })).rejects.toMatchObject({ code: 'BUNDLE_HASH_MISMATCH' });
    const withoutFull = { ...files };
    delete withoutFull['full.onnx'];
    await expect(createDevice({ bundle: { files: withoutFull } })).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING', message: 'the in-memory bundle has no full.onnx' });
  });
});

describe('bundle from a URL (the edge serves it)', () => {
  it('fetches manifest, head and full model with strong caching, and verifies every hash', async () => {
    const base = `${edge.url.replace(/^ws/, 'http')}/v1/models/tiny/0.1.0/`;
    const head = await fetch(`${base}head.onnx`);
    const bytes = new Uint8Array(await head.arrayBuffer());
    const manifest = JSON.parse(await readFile(join(models, 'tiny', 'manifest.json'), 'utf8')) as { graphs: { head: { sha256: string } } };
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(`"${manifest.graphs.head.sha256}"`);
    expect(head.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(bytes).equals(await readFile(join(models, 'tiny', 'head.onnx')))).toBe(true);
    expect((await fetch(`${base}head.onnx`, { headers: { 'If-None-Match': `"${manifest.graphs.head.sha256}"` } })).status).toBe(304);
    expect((await fetch(`${base}tail.onnx`)).status).toBe(404); // devices never need the tail
    expect((await fetch(`${base}../../../tiny/manifest.json`)).status).toBe(404);

    const d = await createDevice({ bundle: base, policy: { force: 'always-local' } });
    for (let i = 0; i < golden.images.length; i++) expect((await d.infer(image(i))).label).toBe(argmax(golden.fullLogits[i]!));
    await d.close();
    await expect(createDevice({ bundle: `${base.replace('0.1.0', '9.9.9')}` })).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING' });
  });

  it('gives up on a server that never answers, with a typed error, by the fetch timeout', async () => {
    const held = new Set<import('node:net').Socket>();
    const silent = createServer((sock) => held.add(sock)); // accepts, then says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const t0 = performance.now();
      await expect(createDevice({ bundle: `http://127.0.0.1:${port}/v1/models/tiny/0.1.0/`, fetchTimeoutMs: 300 })).rejects.toMatchObject({ code: 'BUNDLE_FILE_MISSING', message: expect.stringMatching(/manifest\.json: cannot fetch .*no complete answer within 300 ms/) });
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      for (const sock of held) sock.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('refuses a served file whose bytes do not match the manifest', async () => {
    const { models: dir, cleanup: done } = await tinyModels();
    const server = await createEdgeServer({ models: dir, port: 0, workers: 1 });
    try {
      const file = join(dir, 'tiny', 'full.onnx');
      const bad = await readFile(file);
      bad[bad.length - 1] = bad[bad.length - 1]! ^ 1; // changed on disk after the server verified it
      await writeFile(file, bad);
      await expect(createDevice({ bundle: `${server.url.replace(/^ws/, 'http')}/v1/models/tiny/0.1.0` })).rejects.toMatchObject({ code: 'BUNDLE_HASH_MISMATCH' });
    } finally {
      await server.close();
      await done();
    }
  });
});

describe('stale estimates', () => {
  it('the adaptive policy re-times the head and the local model it keeps avoiding, once every STALE_AFTER requests', async () => {
    // A device 1000× slower than this host: the raw image to the edge always wins on cost, so
    // without re-timing the head and the local model would never run again.
    const d = await createDevice({ bundle: TINY, edge: edge.url, profile: { name: 'slow', computePowerW: 5, radio: RADIOS.wifi, computeSlowdown: 1000 } });
    expect(await d.whenConnected(5000)).toBe(true);
    const paths: string[] = [];
    for (let i = 0; i < 2 * STALE_AFTER + 10; i++) paths.push((await d.infer(image(i % golden.images.length))).path);
    await d.close();
    // Raw offloads (path edge) until the head is STALE_AFTER requests old; then the head runs and
    // the answer is local (the local model is as old) or the exit's.
    expect(paths.slice(0, STALE_AFTER)).toEqual(new Array(STALE_AFTER).fill('edge'));
    expect(['local', 'exit:0']).toContain(paths[STALE_AFTER]);
    const offHead = paths.filter((p) => p !== 'edge').length;
    expect(offHead).toBeGreaterThanOrEqual(2);
    expect(offHead).toBeLessThanOrEqual(3);
  });
});

describe('offline start', () => {
  it('answers locally while the edge is absent, then offloads once it appears', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const d = await createDevice({ bundle: TINY, edge: `ws://127.0.0.1:${port}`, policy: { force: 'always-offload' } });
    expect(d.connected).toBe(false);
    expect(await d.infer(image(0))).toMatchObject({ path: 'fallback', reason: 'disconnected' });
    const late = await createEdgeServer({ models, port, workers: 1 });
    expect(await d.whenConnected(10_000)).toBe(true);
    expect((await d.infer(image(0))).path).toBe('edge');
    await d.close();
    await late.close();
  });
});

describe('edge going away mid-stream', () => {
  it('every pending infer() resolves by fallback within its deadline', async () => {
    const server = await createEdgeServer({ models, port: 0, workers: 1, maxQueueDelayUs: 5_000_000 });
    const d = await createDevice({ bundle: TINY, edge: server.url, deadlineMs: 2000, policy: { force: 'always-offload' } });
    const t0 = performance.now();
    const pending = Array.from({ length: 20 }, (_, i) => d.infer(image(i % golden.images.length)));
    await server.close();
    const results = await Promise.all(pending);
    expect(performance.now() - t0).toBeLessThan(2000 + 500);
    for (const [i, r] of results.entries()) {
      expect(r.path).toBe('fallback');
      expect(r.reason).toMatch(/^(disconnected|server-error:SHUTTING_DOWN)$/);
      expect(r.label).toBe(argmax(golden.fullLogits[i % golden.images.length]!));
    }
    await d.close();
  });
});

describe('both backends', () => {
  it('predict the same labels on 200 test images', async () => {
    const [a, b] = await Promise.all((['onnxruntime-node', 'onnxruntime-web'] as const).map((backend) => createDevice({ bundle: TINY, backend, policy: { force: 'always-local' } })));
    for (let i = 0; i < 200; i++) {
      const img = Uint8Array.from(imageAt(data, i));
      expect((await b!.infer(img)).label).toBe((await a!.infer(img)).label);
    }
    await Promise.all([a!.close(), b!.close()]);
  });
});
