import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadZstdWasm, type ZstdBackend } from '../../bottleneck/index.js';
import { argmax, softmax, type InferResponse, type LoadedBundle, type Message } from '../../protocol/index.js';
import { waitForListening } from '../../cli/serve.js';
import { createEdgeServer, signToken, type EdgeServer, type EdgeServerOptions } from '../../tail/index.js';
import { fullRequest, loadBundle, tailRequest, TestClient, TINY, tinyModels, type Golden } from './client.js';

const ROOT = join(import.meta.dirname, '..', '..');
let models: string;
let bundle: LoadedBundle;
let golden: Golden;
let cleanup: () => Promise<void>;
let zstd: ZstdBackend;
const servers: EdgeServer[] = [];

beforeAll(async () => {
  ({ models, bundle, golden, cleanup } = await tinyModels());
  zstd = await loadZstdWasm();
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

async function connected(server: EdgeServer): Promise<TestClient> {
  const c = await TestClient.open(server.url);
  const ack = await c.hello(bundle);
  expect(ack.type).toBe('helloAck');
  return c;
}

const errorOf = (m: Message): { code: string; message: string; id: string } => {
  if (m.type !== 'error') throw new Error(`expected an error, got ${JSON.stringify(m)}`);
  return m;
};

describe('edge server: happy path', () => {
  let server: EdgeServer;
  beforeAll(async () => {
    server = await start();
  });

  it('answers split requests with the scores PyTorch gives for the golden samples', async () => {
    const c = await connected(server);
    for (const bits of [2, 4, 8]) {
      for (let i = 0; i < golden.features.length; i++) {
        const id = `s${bits}-${i}`;
        c.send(tailRequest(bundle, id, golden.features[i]!, bits, zstd));
        const r = (await c.answer(id)) as InferResponse;
        expect(r.type).toBe('inferResponse');
        const expected = golden.splitLogitsByBits[String(bits)]![i]!;
        expect(r.label).toBe(argmax(expected));
        const p = softmax(expected);
        r.scores.forEach((s, k) => expect(Math.abs(s - p[k]!)).toBeLessThan(1e-4));
        expect(r.batchSize).toBeGreaterThanOrEqual(1);
      }
    }
    c.close();
  });

  it('answers full-offload requests (raw uint8 image) like full.onnx', async () => {
    const c = await connected(server);
    for (let i = 0; i < golden.images.length; i++) {
      c.send(fullRequest(bundle, `f${i}`, golden.images[i]!));
      const r = (await c.answer(`f${i}`)) as InferResponse;
      expect(r.label).toBe(argmax(golden.fullLogits[i]!));
    }
    c.close();
  });

  it('serves health, readiness, metrics and the model list over HTTP on the same port', async () => {
    const base = `http://127.0.0.1:${server.address.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' });
    const list = (await (await fetch(`${base}/v1/models`)).json()) as { models: { id: string; manifestSha256: string }[] };
    expect(list.models).toEqual([expect.objectContaining({ id: 'tiny', manifestSha256: bundle.manifestSha256 })]);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/offramp_requests_total\{outcome="ok"\} \d+/);
    expect(text).toContain('offramp_batch_size_bucket');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe('edge server: the handshake refuses explicitly', () => {
  let server: EdgeServer;
  beforeAll(async () => {
    server = await start();
  });
  const cases: [string, (b: LoadedBundle) => Parameters<TestClient['hello']>[1], string][] = [
    ['an unknown bundle', () => ({ bundle: { id: 'nope', version: '0.1.0', manifestSha256: 'a'.repeat(64) } }), 'UNKNOWN_MODEL'],
    ['another manifest hash', (b) => ({ bundle: { id: 'tiny', version: b.manifest.version, manifestSha256: 'b'.repeat(64) } }), 'MODEL_MISMATCH'],
    ['another protocol version', () => ({ protocolVersion: 99 }), 'UNSUPPORTED_VERSION'],
  ];
  for (const [what, over, code] of cases) {
    it(`answers ${what} with ${code} and closes cleanly`, async () => {
      const c = await TestClient.open(server.url);
      const e = errorOf(await c.hello(bundle, over(bundle)));
      expect(e.code).toBe(code);
      expect(e.id).toBe('');
      expect((await c.closed).code).toBe(1008);
    });
  }
  it('answers a text frame with BAD_REQUEST, and closes a connection that sends no Hello in time', async () => {
    const quick = await start({ helloTimeoutMs: 50 });
    const c = await TestClient.open(quick.url);
    c.ws.send('hello?');
    expect(errorOf(await c.next((m) => m.type === 'error'))).toMatchObject({ code: 'BAD_REQUEST', message: 'text frames are not part of the protocol; send binary frames' });
    expect(errorOf(await c.next((m) => m.type === 'error'))).toMatchObject({ code: 'BAD_REQUEST', message: 'no Hello within 50 ms' });
    expect((await c.closed).code).toBe(1008);
  });

  it('refuses a request before the Hello', async () => {
    const c = await TestClient.open(server.url);
    c.send(tailRequest(bundle, 'x', golden.features[0]!, 8));
    expect(errorOf(await c.next((m) => m.type === 'error')).message).toBe('expected Hello, got inferRequest');
    expect((await c.closed).code).toBe(1008);
  });
});

describe('edge server: every request ends in one answer or one typed error', () => {
  it('BAD_REQUEST for a malformed frame, and the connection stays usable', async () => {
    const c = await connected(await start());
    c.sendRaw(Uint8Array.from([0x1a, 0xff, 0x01, 0x00]));
    const e = errorOf(await c.next((m) => m.type === 'error'));
    expect(e.code).toBe('BAD_REQUEST');
    c.send(tailRequest(bundle, 'after', golden.features[0]!, 8));
    expect((await c.answer('after')).type).toBe('inferResponse');
    c.close();
  });

  it('SHAPE_MISMATCH, BAD_REQUEST for a width the tail was not trained for, UNSUPPORTED_CODEC outside the handshake', async () => {
    const server = await start();
    const c = await connected(server);
    c.send(tailRequest(bundle, 'shape', golden.features[0]!, 8, undefined, { encoding: { shape: [1, 2, 5, 5], bits: 8, scale: [1], zeroPoint: [0], axis: 0, codec: 'none', uncompressedBytes: 50 }, raw: new Uint8Array(50) }));
    expect(errorOf(await c.answer('shape'))).toMatchObject({ code: 'SHAPE_MISMATCH', message: 'tensor [1, 2, 5, 5] does not fit the tail graph\'s input [1, 2, 7, 7]' });
    c.send(tailRequest(bundle, 'bits', golden.features[0]!, 3));
    expect(errorOf(await c.answer('bits'))).toMatchObject({ code: 'BAD_REQUEST', message: '3-bit tensors are not accepted for the tail graph (2, 4, 8, 16, 32)' });
    const raw = await TestClient.open(server.url);
    await raw.hello(bundle, { codecs: ['none'] });
    const sparse = new Float32Array(98);
    raw.send(tailRequest(bundle, 'z', sparse, 32, zstd));
    expect(errorOf(await raw.answer('z'))).toMatchObject({ code: 'UNSUPPORTED_CODEC' });
    c.close();
    raw.close();
  });

  it('TOO_LARGE for a zstd frame claiming more than its tensor, without allocating it', async () => {
    const c = await connected(await start());
    // 17-byte zstd frame claiming 256 MiB (see test/bottleneck/zstd.test.ts), as a 2x7x7 float32 tensor.
    const bomb = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0x03, 0, 0x80, 0]);
    c.send(tailRequest(bundle, 'bomb', new Float32Array(98), 32, undefined, { raw: bomb, encoding: { shape: [1, 2, 7, 7], bits: 32, scale: [], zeroPoint: [], axis: 0, codec: 'zstd', uncompressedBytes: 392 } }));
    expect(errorOf(await c.answer('bomb'))).toMatchObject({ code: 'TOO_LARGE', message: 'zstd frame claims 268435456 bytes; the declared tensor holds 392' });
    c.close();
  });

  it('BAD_REQUEST before any compute for a forged scale that would drive the tail to Inf (found by the fuzzer)', async () => {
    const server = await start();
    const c = await connected(server);
    const honest = tailRequest(bundle, 'forged', golden.features[0]!, 8);
    c.send({ ...honest, encoding: { ...honest.encoding, scale: [3e30] } });
    const e = errorOf(await c.answer('forged'));
    expect(e.code).toBe('BAD_REQUEST');
    expect(e.message).toMatch(/^feature value \d+ \(.+\) is far outside the bottleneck's range \[.+\]: check the quantization scale and zero point$/);
    const metrics = await (await fetch(`http://127.0.0.1:${server.address.port}/metrics`)).text();
    expect(metrics).not.toMatch(/offramp_batch_size_count \d*[1-9]/);
    c.close();
  });

  it('DUPLICATE_ID and TOO_MANY_IN_FLIGHT while requests wait in the batcher', async () => {
    const c = await connected(await start({ maxQueueDelayUs: 300_000, maxInFlight: 2 }));
    c.send(tailRequest(bundle, 'a', golden.features[0]!, 8));
    c.send(tailRequest(bundle, 'a', golden.features[1]!, 8));
    c.send(tailRequest(bundle, 'b', golden.features[1]!, 8));
    c.send(tailRequest(bundle, 'c', golden.features[2]!, 8));
    const dup = errorOf(await c.next((m) => m.type === 'error' && m.code === 'DUPLICATE_ID'));
    expect(dup).toMatchObject({ id: 'a', message: 'request id "a" is already in flight' });
    expect(errorOf(await c.answer('c'))).toMatchObject({ code: 'TOO_MANY_IN_FLIGHT', message: '2 requests in flight; the limit is 2' });
    const [a, b] = await Promise.all([c.answer('a'), c.answer('b')]);
    expect([a.type, b.type]).toEqual(['inferResponse', 'inferResponse']);
    c.close();
  });

  it('QUEUE_FULL at once, with retry_after_ms, beyond maxQueue', async () => {
    const c = await connected(await start({ maxQueueDelayUs: 300_000, maxQueue: 1 }));
    c.send(tailRequest(bundle, 'q1', golden.features[0]!, 8));
    c.send(tailRequest(bundle, 'q2', golden.features[1]!, 8));
    const full = await c.answer('q2');
    expect(errorOf(full).code).toBe('QUEUE_FULL');
    expect(full.type === 'error' && full.retryAfterMs).toBeGreaterThan(0);
    expect((await c.answer('q1')).type).toBe('inferResponse');
    c.close();
  });

  it('DEADLINE_EXCEEDED for a request whose deadline passes in the queue; it is not computed', async () => {
    const server = await start({ maxQueueDelayUs: 100_000 });
    const c = await connected(server);
    c.send(tailRequest(bundle, 'late', golden.features[0]!, 8, undefined, { deadlineMs: 5 }));
    expect(errorOf(await c.answer('late'))).toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    const metrics = await (await fetch(`http://127.0.0.1:${server.address.port}/metrics`)).text();
    expect(metrics).not.toMatch(/offramp_batch_size_count \d*[1-9]/);
    c.close();
  });

  it('INTERNAL, and the server stays up, when a model answers NaN', async () => {
    // A copy of the tiny bundle whose tail returns NaN logits (test/fixtures/make_nan_tail.py).
    const broken = await mkdtemp(join(tmpdir(), 'offramp-nan-'));
    try {
      const dir = join(broken, 'tiny');
      await cp(TINY, dir, { recursive: true });
      await cp(join(ROOT, 'test', 'fixtures', 'nan-tail.onnx'), join(dir, 'tail.onnx'));
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { graphs: { tail: { sha256: string } } };
      manifest.graphs.tail.sha256 = createHash('sha256').update(await readFile(join(dir, 'tail.onnx'))).digest('hex');
      await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
      const server = await createEdgeServer({ models: broken, port: 0, workers: 1 });
      servers.push(server);
      const c = await TestClient.open(server.url);
      expect((await c.hello(await loadBundle(dir))).type).toBe('helloAck');
      c.send(tailRequest(bundle, 'nan', golden.features[0]!, 8));
      expect(errorOf(await c.answer('nan'))).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/^the answer could not be encoded: scores must be finite/) });
      c.send(fullRequest(bundle, 'full', golden.images[0]!));
      expect((await c.answer('full')).type).toBe('inferResponse');
      c.close();
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('closes with 1009 a frame over maxPayload', async () => {
    const c = await connected(await start());
    c.sendRaw(new Uint8Array(64 * 1024));
    expect((await c.closed).code).toBe(1009);
  });
});

describe('edge server: batching and the event loop', () => {
  it("batches two clients' requests together", async () => {
    const server = await start({ maxBatch: 2, maxQueueDelayUs: 5_000_000 });
    const [a, b] = await Promise.all([connected(server), connected(server)]);
    a.send(tailRequest(bundle, 'x', golden.features[0]!, 8));
    b.send(tailRequest(bundle, 'y', golden.features[1]!, 8));
    const [ra, rb] = (await Promise.all([a.answer('x'), b.answer('y')])) as InferResponse[];
    expect([ra!.batchSize, rb!.batchSize]).toEqual([2, 2]);
    a.close();
    b.close();
  });

  it('keeps the WebSocket loop responsive while batches compute (inference runs in workers)', async () => {
    // 3,000 requests as fast as one connection can push them: a load generator, not a device, so
    // the per-connection rate limit (a device's 1,000 frames/s by default) is off here.
    const server = await start({ workers: 2, maxBatch: 64, maxQueueDelayUs: 1000, rateLimitPerSecond: 0 });
    const c = await connected(server);
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const n = 3000;
    let computeUs = 0;
    for (let round = 0; round < n / 60; round++) {
      const ids = Array.from({ length: 60 }, (_, i) => `r${round}-${i}`);
      for (const id of ids) c.send(tailRequest(bundle, id, golden.features[0]!, 8));
      for (const id of ids) computeUs += ((await c.answer(id)) as InferResponse).timings.computeUs;
    }
    h.disable();
    // Compute summed over requests (each batch's time counted once per member) far exceeds any
    // event-loop stall: the loop never waited on a model.
    expect(computeUs / 1000).toBeGreaterThan(50);
    expect(h.max / 1e6).toBeLessThan(50);
    c.close();
  }, 60_000);
});

describe('edge server: authentication and origins at the upgrade', () => {
  it('refuses a missing or wrong shared secret with 401, accepts the right one in either header', async () => {
    const server = await start({ auth: { type: 'shared-secret', secret: 's3cret' } });
    await expect(TestClient.open(server.url)).rejects.toThrow('HTTP 401');
    await expect(TestClient.open(server.url, { headers: { Authorization: 'Bearer nope' } })).rejects.toThrow('HTTP 401');
    const viaHeader = await TestClient.open(server.url, { headers: { Authorization: 'Bearer s3cret' } });
    expect((await viaHeader.hello(bundle)).type).toBe('helloAck');
    const viaProtocol = await TestClient.open(server.url, {}, ['offramp.v1', 'bearer.s3cret']);
    expect(viaProtocol.ws.protocol).toBe('offramp.v1');
    expect((await viaProtocol.hello(bundle)).type).toBe('helloAck');
    viaHeader.close();
    viaProtocol.close();
  });

  it('checks HMAC tokens: forged and expired ones get 401', async () => {
    const server = await start({ auth: { type: 'hmac', secret: 'k' } });
    const good = signToken('k', 'dev-1', Math.floor(Date.now() / 1000) + 60);
    const c = await TestClient.open(server.url, { headers: { Authorization: `Bearer ${good}` } });
    expect((await c.hello(bundle)).type).toBe('helloAck');
    c.close();
    await expect(TestClient.open(server.url, { headers: { Authorization: `Bearer ${signToken('other', 'dev-1', Math.floor(Date.now() / 1000) + 60)}` } })).rejects.toThrow('HTTP 401');
    await expect(TestClient.open(server.url, { headers: { Authorization: `Bearer ${signToken('k', 'dev-1', 1)}` } })).rejects.toThrow('HTTP 401');
  });

  it('refuses a foreign Origin with 403', async () => {
    const server = await start({ origins: ['https://app.example'] });
    await expect(TestClient.open(server.url, { headers: { Origin: 'https://evil.example' } })).rejects.toThrow('HTTP 403');
    const c = await TestClient.open(server.url, { headers: { Origin: 'https://app.example' } });
    c.close();
  });
});

describe('edge server: bundle files and web mode over HTTP', () => {
  /** A raw GET (fetch would normalise '..' away before sending). */
  const rawGet = (url: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
    const u = new URL(url.replace(/^ws/, 'http'));
    const req = httpRequest({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

  it('keeps bundle files behind the token when auth is on', async () => {
    const server = await start({ auth: { type: 'shared-secret', secret: 's3cret' } });
    const url = `${server.url.replace(/^ws/, 'http')}/v1/models/tiny/${bundle.manifest.version}/head.onnx`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const ok = await fetch(url, { headers: { Authorization: 'Bearer s3cret' } });
    expect(ok.status).toBe(200);
    expect(createHash('sha256').update(new Uint8Array(await ok.arrayBuffer())).digest('hex')).toBe(bundle.manifest.graphs.head.sha256);
  });

  it('serves the web root and its mounts, never a file outside them, and answers HEAD', async () => {
    const root = await mkdtemp(join(tmpdir(), 'offramp-web-root-'));
    const mount = await mkdtemp(join(tmpdir(), 'offramp-web-mount-'));
    try {
      await writeFile(join(root, 'index.html'), '<p>hi</p>');
      await writeFile(join(mount, 'a.wasm'), 'wasm');
      await writeFile(join(root, '..', `${root.split('/').pop()}-secret.txt`), 'secret');
      const server = await start({ web: { root, mounts: { '/ort/': mount }, demo: { hello: 1 } } });
      expect(await rawGet(server.url, '/')).toEqual({ status: 200, body: '<p>hi</p>' });
      expect(await rawGet(server.url, '/ort/a.wasm')).toEqual({ status: 200, body: 'wasm' });
      expect((await rawGet(server.url, '/', 'HEAD')).status).toBe(200);
      for (const path of [`/../${root.split('/').pop()}-secret.txt`, `/%2e%2e/${root.split('/').pop()}-secret.txt`, '/ort/../index.html', '/ort/%2e%2e%2f..%2fetc%2fpasswd', '/%E0%A4%A']) {
        const r = await rawGet(server.url, path);
        expect([400, 404], path).toContain(r.status);
        expect(r.body).not.toContain('secret');
      }
      expect(JSON.parse((await rawGet(server.url, '/v1/demo')).body)).toEqual({ hello: 1 });
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(mount, { recursive: true, force: true });
      await rm(`${root}-secret.txt`, { force: true });
    }
  });

  it('takes the edge away only in web mode: connections closed, upgrades refused, then back', async () => {
    const plain = await start();
    expect((await rawGet(plain.url, '/v1/demo/edge?away=true', 'POST')).status).toBe(405);
    const root = await mkdtemp(join(tmpdir(), 'offramp-web-root-'));
    try {
      const server = await start({ web: { root } });
      const c = await TestClient.open(server.url);
      const closed = new Promise<void>((resolve) => c.ws.once('close', () => resolve()));
      expect(JSON.parse((await rawGet(server.url, '/v1/demo/edge?away=true', 'POST')).body)).toEqual({ away: true });
      await closed;
      await expect(TestClient.open(server.url)).rejects.toThrow('HTTP 503');
      await rawGet(server.url, '/v1/demo/edge?away=false', 'POST');
      const back = await TestClient.open(server.url);
      expect((await back.hello(bundle)).type).toBe('helloAck');
      back.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('edge server: TLS and heartbeat', () => {
  it('serves wss:// with a key and certificate (self-signed, made by openssl for this test)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'offramp-tls-'));
    try {
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost']);
      const cert = await readFile(join(dir, 'cert.pem'));
      const server = await start({ tls: { key: await readFile(join(dir, 'key.pem')), cert } });
      expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
      const c = await TestClient.open(server.url.replace('127.0.0.1', 'localhost'), { ca: cert });
      expect((await c.hello(bundle)).type).toBe('helloAck');
      c.send(tailRequest(bundle, 't', golden.features[0]!, 8));
      expect((await c.answer('t')).type).toBe('inferResponse');
      c.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('terminates a peer that stops answering pings', async () => {
    const server = await start({ heartbeatMs: 50 });
    const c = await connected(server);
    // A half-open peer: its socket stops reading, so it never sees a ping nor sends a pong.
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const closed = c.closed;
    // The server terminates within two heartbeat intervals; once the socket reads again the
    // client sees the connection drop without a close frame (1006).
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const check = (): void => {
        void fetch(`http://127.0.0.1:${server.address.port}/metrics`).then((r) => r.text()).then((t) => {
          if (/offramp_connections 0/.test(t)) resolve();
          else setImmediate(check);
        });
      };
      check();
    });
    expect(performance.now() - t0).toBeLessThan(2000);
    socket.resume();
    expect((await closed).code).toBe(1006);
  });
});

describe('edge server: drain on SIGTERM (spawned `offramp serve`)', () => {
  it('goes unready at once, refuses new requests with SHUTTING_DOWN, finishes in-flight ones, closes with 1001, exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'index.ts'), 'serve', '--models', models, '--port', '0', '--workers', '1', '--max-queue-delay-us', '300000', '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const url = await waitForListening(child);
    const c = await connected({ url } as EdgeServer);
    c.send(tailRequest(bundle, 'inflight', golden.features[0]!, 8));
    // The duplicate's immediate DUPLICATE_ID proves the first is in flight (waiting in the batcher).
    c.send(tailRequest(bundle, 'inflight', golden.features[0]!, 8));
    expect(errorOf(await c.next((m) => m.type === 'error')).code).toBe('DUPLICATE_ID');
    child.kill('SIGTERM');
    const port = new URL(url).port;
    let status = 200;
    while (status === 200) status = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
    expect(status).toBe(503);
    c.send(tailRequest(bundle, 'late', golden.features[1]!, 8));
    expect(errorOf(await c.answer('late')).code).toBe('SHUTTING_DOWN');
    expect((await c.answer('inflight')).type).toBe('inferResponse');
    expect((await c.closed).code).toBe(1001);
    expect(await exited).toBe(0);
  }, 30_000);
});

describe('edge server: retries and rate limits', () => {
  const metric = async (server: EdgeServer, line: RegExp): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${server.address.port}/metrics`)).text();
    const m = line.exec(text);
    return m ? Number(m[1]) : 0;
  };
  const hello = async (server: EdgeServer, deviceId: string): Promise<TestClient> => {
    const c = await TestClient.open(server.url);
    expect((await c.hello(bundle, { deviceId })).type).toBe('helloAck');
    return c;
  };

  it('answers a retried request id after a reconnect from the first execution: computed once, the same answer', async () => {
    // Batches of 2 with a long wait: the first request sits in the queue until a second arrives.
    const server = await start({ maxBatch: 2, maxQueueDelayUs: 5_000_000 });
    const first = await hello(server, 'device-a');
    first.send(tailRequest(bundle, 'r1', golden.features[0]!, 8));
    await expect.poll(() => metric(server, /^offramp_queue_depth\{graph="tiny@[^"]+\/tail"\} (\d+)/m)).toBe(1);
    first.ws.terminate(); // the link drops with r1 queued
    await first.closed;
    const second = await hello(server, 'device-a');
    second.send(tailRequest(bundle, 'r1', golden.features[0]!, 8)); // the retry joins the queued execution
    second.send(tailRequest(bundle, 'r2', golden.features[1]!, 8)); // and fills the batch
    const [r1, r2] = (await Promise.all([second.answer('r1'), second.answer('r2')])) as InferResponse[];
    expect([r1!.type, r2!.type, r1!.batchSize]).toEqual(['inferResponse', 'inferResponse', 2]);
    expect(r1!.label).toBe(argmax(golden.splitLogitsByBits['8']![0]!));
    // Once more on a third connection: straight from the window, identical, nothing computed.
    const third = await hello(server, 'device-a');
    third.send(tailRequest(bundle, 'r1', golden.features[0]!, 8));
    expect(await third.answer('r1')).toEqual(r1);
    expect(await metric(server, /^offramp_batch_size_sum (\d+)/m)).toBe(2);
    expect(await metric(server, /^offramp_requests_total\{outcome="dedup"\} (\d+)/m)).toBe(1);
    // The same id with another payload is a device bug, not a retry.
    third.send(tailRequest(bundle, 'r1', golden.features[3]!, 8));
    expect(errorOf(await third.answer('r1'))).toMatchObject({ code: 'DUPLICATE_ID', message: 'request id "r1" was used by this device for a different payload' });
    second.close();
    third.close();
  });

  it('scopes ids to the device (or to the connection without a device id)', async () => {
    const server = await start();
    const clients = [await hello(server, 'device-a'), await hello(server, 'device-b'), await hello(server, ''), await hello(server, '')];
    for (const c of clients) c.send(tailRequest(bundle, 'same', golden.features[2]!, 8));
    for (const c of clients) expect((await c.answer('same')).type).toBe('inferResponse');
    expect(await metric(server, /^offramp_batch_size_sum (\d+)/m)).toBe(4);
    for (const c of clients) c.close();
  });

  it('refuses frames over the rate with RATE_LIMITED, and closes with 1008 a peer that keeps on', async () => {
    // 2 frames/s after a burst of 5: a token takes 500 ms to come back, far longer than this test's steps.
    const server = await start({ rateLimitPerSecond: 2, rateBurst: 5 });
    const c = await connected(server);
    for (let i = 0; i < 6; i++) c.send(tailRequest(bundle, `b${i}`, golden.features[0]!, 8));
    for (let i = 0; i < 5; i++) expect((await c.answer(`b${i}`)).type).toBe('inferResponse');
    expect(errorOf(await c.answer('b5'))).toMatchObject({ code: 'RATE_LIMITED', message: 'more than 2 frames/s on this connection', retryAfterMs: 500 });
    for (let i = 0; i < 10; i++) c.send(tailRequest(bundle, `x${i}`, golden.features[0]!, 8));
    expect(await c.closed).toEqual({ code: 1008, reason: 'rate limit exceeded' });
    // b5 and one more were answered RATE_LIMITED (a token that came back meanwhile only moves which
    // one); the third refusal within the second closed the connection. No id got two outcomes.
    const limited = c.messages.filter((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
    expect(limited.length).toBe(1);
    const ids = c.messages.map((m) => (m as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
