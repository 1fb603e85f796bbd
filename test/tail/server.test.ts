/**
 * The edge server as a process sees it: HTTP on the same port (probes, metrics, the model list,
 * bundle files, web mode), origins, TLS, the heartbeat, batching across connections, the event
 * loop kept free, drain (docs/PROTOCOL.md §9.6) and a start on a busy port (LISTEN_FAILED).
 * The wire rules themselves: handshake, requests, outcomes, answers, flow and auth tests.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { encodeFrame, isOfframpError, WANT } from '../../protocol/index.js';
import { createEdgeServer, type EdgeServer } from '../../tail/index.js';
import {
  answerOf,
  barrier,
  connect,
  edges,
  errorOf,
  FIXTURES,
  helloFor,
  httpBase,
  loadBundle,
  metric,
  splitRequest,
  TestClient,
  TINY,
  tinyGolden,
  type Golden,
} from './client.js';

const ROOT = join(import.meta.dirname, '..', '..');
let bundle: LoadedBundle;
let golden: Golden;
const pool = edges();

beforeAll(async () => {
  [bundle, golden] = await Promise.all([loadBundle(TINY), tinyGolden()]);
});
afterAll(() => pool.closeAll());

describe('HTTP on the WebSocket port', () => {
  let server: EdgeServer;
  beforeAll(async () => {
    server = await pool.start();
  });

  it('serves health, readiness, the model list and metrics', async () => {
    const base = httpBase(server);
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' });
    expect(await (await fetch(`${base}/v1/models`)).json()).toEqual({
      models: [
        { id: 'tiny', version: '0.2.0', manifestSha256: bundle.manifestSha256, task: 'classification', ratePoints: ['s1', 'u4', 'f16'], timingOnly: false },
      ],
    });
    const { c } = await connect(server.url, bundle);
    await c.call(splitRequest(bundle, 1, golden.latent[0]!, 0));
    c.close();
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/offramp_requests_total\{outcome="ok"\} [1-9]/);
    expect(text).toContain('offramp_batch_size_bucket');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('counts requests by outcome and WebSocket bytes each way exactly, whenever /metrics is read', async () => {
    const fresh = await pool.start();
    const count = async (): Promise<number[]> =>
      Promise.all(
        [
          /^offramp_requests_total\{outcome="ok"\} (\d+)/m,
          /^offramp_requests_total\{outcome="BAD_REQUEST"\} (\d+)/m,
          /^offramp_bytes_total\{direction="in"\} (\d+)/m,
          /^offramp_bytes_total\{direction="out"\} (\d+)/m,
        ].map((re) => metric(fresh, re)),
      );
    const { c } = await connect(fresh.url, bundle);
    const sent = (r: Parameters<TestClient['request']>[0]): number => encodeFrame({ type: 'request', request: r }).length;
    let bytesIn = encodeFrame({ type: 'hello', hello: helloFor(bundle) }).length;
    for (const id of [1, 2]) {
      const r = splitRequest(bundle, id, golden.latent[0]!, 0);
      bytesIn += sent(r);
      await c.call(r);
    }
    bytesIn += sent({ id: 3, rate: 63 });
    await barrier(c, 3);
    const bytesOut = (): number => c.received.reduce((n, f) => n + f.bytes.length, 0);
    expect(await count()).toEqual([2, 1, bytesIn, bytesOut()]);
    // Read again with nothing new: the same totals (what was gathered is not added twice).
    expect(await count()).toEqual([2, 1, bytesIn, bytesOut()]);
    const r = splitRequest(bundle, 4, golden.latent[1]!, 0);
    await c.call(r);
    expect(await count()).toEqual([3, 1, bytesIn + sent(r), bytesOut()]);
    // Each answered request is one observation per stage; buckets are cumulative, +Inf is the count.
    const text = await (await fetch(`${httpBase(fresh)}/metrics`)).text();
    for (const stage of ['queue', 'decode', 'compute', 'total']) {
      const buckets = [...text.matchAll(new RegExp(`^offramp_request_duration_us_bucket\\{le="([^"]+)",stage="${stage}"\\} (\\d+)$`, 'gm'))];
      expect(buckets.map((b) => b[1])).toEqual([
        '50',
        '100',
        '250',
        '500',
        '1000',
        '2500',
        '5000',
        '10000',
        '25000',
        '50000',
        '100000',
        '250000',
        '1000000',
        '+Inf',
      ]);
      const counts = buckets.map((b) => Number(b[2]));
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      expect(counts.at(-1)).toBe(3);
      expect(text).toMatch(new RegExp(`^offramp_request_duration_us_count\\{stage="${stage}"\\} 3$`, 'm'));
      const sum = Number(new RegExp(`^offramp_request_duration_us_sum\\{stage="${stage}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(sum).toBeGreaterThanOrEqual(0);
    }
    expect(text).toMatch(/^offramp_queue_depth\{graph="tiny@0\.2\.0\/tail"\} 0$/m);
    c.close();
  });

  it('serves bundle files with their sha256 as a strong ETag, 304 on a match, 404 for anything else', async () => {
    const base = `${httpBase(server)}/v1/models/tiny/0.2.0`;
    const m = bundle.manifest;
    for (const [name, sha] of [
      ['manifest.json', bundle.manifestSha256],
      [m.graphs.head.file, m.graphs.head.sha256],
      [m.graphs.full.file, m.graphs.full.sha256],
      ['entropy-s1.json', '8c88a424db237f8451bdca7752aee67562d4f4b1cd9aa51973422afd34128f60'],
    ] as const) {
      const r = await fetch(`${base}/${name}`);
      expect(r.status, name).toBe(200);
      expect(r.headers.get('etag')).toBe(`"${sha}"`);
      expect(
        createHash('sha256')
          .update(new Uint8Array(await r.arrayBuffer()))
          .digest('hex'),
      ).toBe(sha);
      expect((await fetch(`${base}/${name}`, { headers: { 'If-None-Match': `"${sha}"` } })).status).toBe(304);
    }
    // The tail never leaves the edge; unknown versions and files are not there.
    for (const path of [`${base}/${m.graphs.tail.file}`, `${base}/golden.json`, `${httpBase(server)}/v1/models/tiny/9.9.9/manifest.json`])
      expect((await fetch(path)).status, path).toBe(404);
  });
});

describe('origins, TLS, heartbeat', () => {
  it('refuses a foreign Origin with 403', async () => {
    const s = await pool.start({ origins: ['https://app.example'] });
    await expect(TestClient.open(s.url, { headers: { Origin: 'https://evil.example' } })).rejects.toThrow('HTTP 403');
    const c = await TestClient.open(s.url, { headers: { Origin: 'https://app.example' } });
    c.close();
  });

  it('serves wss:// with a key and certificate (self-signed, made by openssl for this test)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'offramp-tls-'));
    try {
      await promisify(execFile)('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ]);
      const cert = await readFile(join(dir, 'cert.pem'));
      const s = await pool.start({ tls: { key: await readFile(join(dir, 'key.pem')), cert } });
      expect(s.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
      const { c } = await connect(s.url.replace('127.0.0.1', 'localhost'), bundle, {}, { ca: cert });
      expect((await c.call(splitRequest(bundle, 1, golden.latent[0]!, 0))).type).toBe('answer');
      c.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('terminates a peer that stops answering pings', async () => {
    const s = await pool.start({ heartbeatMs: 50 });
    const { c } = await connect(s.url, bundle);
    // A half-open peer: its socket stops reading, so it never sees a ping nor sends a pong.
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const t0 = performance.now();
    await expect.poll(() => metric(s, /^offramp_connections (\d+)/m), { timeout: 5000, interval: 20 }).toBe(0);
    expect(performance.now() - t0).toBeLessThan(2000);
    socket.resume();
    expect((await c.closed).code).toBe(1006);
  });
});

describe('web mode', () => {
  /** A raw GET (fetch would normalise '..' away before sending). */
  const rawGet = (s: EdgeServer, path: string, method = 'GET'): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: s.address.port, path, method }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('serves the web root and its mounts, never a file outside them', async () => {
    const root = await mkdtemp(join(tmpdir(), 'offramp-web-root-'));
    const mount = await mkdtemp(join(tmpdir(), 'offramp-web-mount-'));
    const secret = `${root}-secret.txt`;
    try {
      await writeFile(join(root, 'index.html'), '<p>hi</p>');
      await writeFile(join(mount, 'a.wasm'), 'wasm');
      await writeFile(secret, 'secret');
      const s = await pool.start({ web: { root, mounts: { '/ort/': mount }, demo: { hello: 1 } } });
      expect(await rawGet(s, '/')).toEqual({ status: 200, body: '<p>hi</p>' });
      expect(await rawGet(s, '/ort/a.wasm')).toEqual({ status: 200, body: 'wasm' });
      expect((await rawGet(s, '/', 'HEAD')).status).toBe(200);
      const name = secret.split('/').pop()!;
      for (const path of [`/../${name}`, `/%2e%2e/${name}`, '/ort/../index.html', '/ort/%2e%2e%2f..%2fetc%2fpasswd', '/%E0%A4%A']) {
        const r = await rawGet(s, path);
        expect([400, 404], path).toContain(r.status);
        expect(r.body).not.toContain('secret');
      }
      expect(JSON.parse((await rawGet(s, '/v1/demo')).body)).toEqual({ hello: 1 });
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(mount, { recursive: true, force: true });
      await rm(secret, { force: true });
    }
  });

  it('takes the edge away only in web mode: connections closed, upgrades refused, then back', async () => {
    const plain = await pool.start();
    expect((await rawGet(plain, '/v1/demo/edge?away=true', 'POST')).status).toBe(405);
    const root = await mkdtemp(join(tmpdir(), 'offramp-web-root-'));
    try {
      const s = await pool.start({ web: { root } });
      const { c } = await connect(s.url, bundle);
      expect(JSON.parse((await rawGet(s, '/v1/demo/edge?away=true', 'POST')).body)).toEqual({ away: true });
      await c.closed;
      await expect(TestClient.open(s.url)).rejects.toThrow('HTTP 503');
      await rawGet(s, '/v1/demo/edge?away=false', 'POST');
      const { c: back } = await connect(s.url, bundle);
      back.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('batching and the event loop', () => {
  it("batches two connections' requests together", async () => {
    const s = await pool.start({ maxBatch: 2, maxQueueDelayUs: 10_000_000 });
    const [{ c: a }, { c: b }] = await Promise.all([connect(s.url, bundle), connect(s.url, bundle)]);
    a.request(splitRequest(bundle, 1, golden.latent[0]!, 0, { want: WANT.timings }));
    b.request(splitRequest(bundle, 1, golden.latent[1]!, 2, { want: WANT.timings }));
    const [ra, rb] = (await Promise.all([a.outcome(1), b.outcome(1)])).map(answerOf);
    expect([ra!.timings?.batchSize, rb!.timings?.batchSize]).toEqual([2, 2]);
    a.close();
    b.close();
  });

  it('keeps the WebSocket loop responsive while batches compute (inference runs in workers)', async () => {
    const s = await pool.start({ workers: 2, maxBatch: 64, maxQueueDelayUs: 1000 });
    const { c } = await connect(s.url, bundle);
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    let computeUs = 0;
    for (let round = 0; round < 50; round++) {
      const ids = Array.from({ length: 60 }, (_, i) => i + 1);
      for (const id of ids) c.request(splitRequest(bundle, id, golden.latent[id % 4]!, 2, { want: WANT.timings }));
      for (const id of ids) computeUs += answerOf(await c.outcome(id)).timings!.computeUs;
    }
    h.disable();
    // Compute summed over requests (each batch's time counted once per member) far exceeds the
    // loop's delays: it never waited on a model. p99, not the max: on a shared machine the OS
    // may deschedule this process for a moment, whatever the server does.
    expect(computeUs / 1000).toBeGreaterThan(50);
    expect(h.percentile(99) / 1e6).toBeLessThan(50);
    c.close();
  }, 60_000);
});

describe('drain (§9.6)', () => {
  it('/readyz turns 503 at once, new requests get SHUTTING_DOWN, requests in flight finish, then every socket closes 1001', async () => {
    const s = await createEdgeServer({ models: FIXTURES, port: 0, workers: 1, maxBatch: 2, maxQueueDelayUs: 300_000, drainTimeoutMs: 10_000 });
    const { c } = await connect(s.url, bundle);
    const { c: idle } = await connect(s.url, bundle);
    c.request(splitRequest(bundle, 1, golden.latent[0]!, 0)); // waits in the batcher for up to 300 ms
    await barrier(c, 99);
    const drained = s.drain();
    expect((await fetch(`${httpBase(s)}/readyz`)).status).toBe(503);
    expect(await (await fetch(`${httpBase(s)}/readyz`)).json()).toEqual({ status: 'draining' });
    expect((await fetch(`${httpBase(s)}/healthz`)).status).toBe(200);
    const late = errorOf(await c.call(splitRequest(bundle, 2, golden.latent[1]!, 0)));
    expect(late).toMatchObject({ id: 2, name: 'SHUTTING_DOWN', message: 'this edge is draining' });
    expect(late.retryAfterMs).toBeGreaterThan(0);
    expect(errorOf(await idle.call(splitRequest(bundle, 5, golden.latent[1]!, 0)))).toMatchObject({ name: 'SHUTTING_DOWN' });
    expect(answerOf(await c.outcome(1)).label).toBe(9);
    expect(await c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect((await idle.closed).code).toBe(1001);
    await drained;
    await expect(TestClient.open(s.url)).rejects.toThrow();
  });
});

describe('a busy port (LISTEN_FAILED)', () => {
  it('rejects with OfframpError LISTEN_FAILED', async () => {
    const first = await pool.start();
    const err = await createEdgeServer({ models: FIXTURES, port: first.address.port, workers: 1 }).catch((e: unknown) => e);
    expect(isOfframpError(err, 'LISTEN_FAILED')).toBe(true);
    expect((err as Error).message).toBe(`cannot listen: port ${first.address.port} on 127.0.0.1 is already in use`);
    // The first one still serves.
    const { c } = await connect(first.url, bundle);
    c.close();
  });

  it('leaves nothing behind: a process whose start failed exits by itself (no worker thread, timer or socket keeps it)', async () => {
    const first = await pool.start();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'listen-busy.ts'), String(first.address.port)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const stuck = new Promise<'still running'>((resolve) => {
      timer = setTimeout(() => resolve('still running'), 20_000);
    });
    const code = await Promise.race([exited, stuck]);
    clearTimeout(timer);
    if (code === 'still running') child.kill('SIGKILL');
    expect(out.trim()).toBe('LISTEN_FAILED');
    expect(code).toBe(0);
  }, 30_000);
});
