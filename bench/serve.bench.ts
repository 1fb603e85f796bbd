/**
 * Edge server throughput: K concurrent WebSocket clients (closed loop, one request in flight each)
 * against a spawned `offramp serve`, and — measured in the same run — the raw throughput of the
 * tail model called directly through onnxruntime-node in the same number of worker threads at the
 * best batch size. Ratio = server rps / raw rps.
 *
 * Usage: npm run bench:serve -- [--bundle models/fmnist-b32] [--clients 1,16,256] [--seconds 5]
 *        [--workers 2] [--json out.json]
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { encodeFeatures } from '../bottleneck/index.js';
import { waitForListening } from '../cli/serve.js';
import { decodeFrame, encodeFrame, loadBundle, type LoadedBundle } from '../protocol/index.js';
import { helloFor } from './reliability/load.js';
import { environment, percentile, r2 } from './stats.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    bundle: { type: 'string', multiple: true },
    clients: { type: 'string', default: '1,16,256' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    'max-batch': { type: 'string', default: '64' },
    json: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const warmup = Number(args.warmup);
const workers = Number(args.workers);
const maxBatch = Number(args['max-batch']);
const clientCounts = args.clients.split(',').map(Number);
const defaults = [join(ROOT, 'models', 'fmnist-b32'), join(ROOT, 'models-timing', 'resnet50-b12')].filter((d) => existsSync(d));
const bundles = args.bundle ?? (defaults.length ? defaults : [join(ROOT, 'test', 'fixtures', 'tiny')]);

async function startServer(modelsDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'index.js'), 'serve', '--models', modelsDir, '--port', '0', '--workers', String(workers), '--max-batch', String(maxBatch), '--max-queue-delay-us', '2000', '--max-queue', '100000', '--max-in-flight', '1024', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await waitForListening(child);
  return { url, stop: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }) };
}

/** One closed-loop client: sends the next request as soon as the previous one is answered. */
async function client(url: string, b: LoadedBundle, payload: { raw: Uint8Array; meta: ReturnType<typeof encodeFeatures>['meta'] }, until: () => number, record: (ms: number, batch: number) => void): Promise<void> {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const m = b.manifest;
  let n = 0;
  let sentAt = 0;
  const sendNext = (): void => {
    sentAt = performance.now();
    ws.send(encodeFrame({ type: 'inferRequest', id: String(n++), name: m.bottleneck.tailInput, datatype: 'FP32', encoding: payload.meta, raw: payload.raw, exitIndex: -1, exitConfidence: 0, deadlineMs: 600_000, graph: 'tail' }));
  };
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const r = decodeFrame(data);
      if (!r.ok) return reject(r.error);
      const msg = r.message;
      if (msg.type === 'helloAck') return sendNext();
      if (msg.type === 'error') return reject(new Error(`${msg.code}: ${msg.message}`));
      if (msg.type !== 'inferResponse') return;
      record(performance.now() - sentAt, msg.batchSize);
      if (performance.now() < until()) sendNext();
      else resolve();
    });
    ws.send(encodeFrame(helloFor(b, { clientName: 'bench' })));
  });
  ws.close();
}

/** Samples/s of the tail run directly in `workers` threads at batch size `batch`. */
async function rawThroughput(b: LoadedBundle, batch: number, secs: number): Promise<number> {
  const sample = b.manifest.bottleneck.shape;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const ort = require(${JSON.stringify(createRequire(import.meta.url).resolve('onnxruntime-node'))});
    (async () => {
      const { path, input, shape, batch, secs } = workerData;
      const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } });
      const size = shape.reduce((a, b) => a * b, 1);
      const feeds = { [input]: new ort.Tensor('float32', new Float32Array(batch * size).fill(0.5), [batch, ...shape]) };
      for (let i = 0; i < 3; i++) await s.run(feeds);
      let n = 0; const t0 = performance.now();
      while (performance.now() - t0 < secs * 1000) { await s.run(feeds); n += batch; }
      parentPort.postMessage(n / ((performance.now() - t0) / 1000));
    })();`;
  const rates = await Promise.all(Array.from({ length: workers }, () => new Promise<number>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { path: b.paths.tail, input: b.manifest.bottleneck.tailInput, shape: sample, batch, secs } });
    w.once('message', (r: number) => { resolve(r); void w.terminate(); });
    w.once('error', reject);
  })));
  return rates.reduce((a, r) => a + r, 0);
}

const rows: Record<string, unknown>[] = [];
for (const dir of bundles) {
  const b = await loadBundle(dir);
  const models = await mkdtemp(join(tmpdir(), 'offramp-bench-'));
  await cp(dir, join(models, basename(dir)), { recursive: true });
  const n = b.manifest.bottleneck.shape.reduce((a, c) => a * c, 1);
  const bits = Math.max(...b.manifest.bottleneck.bits);
  const enc = encodeFeatures(new Float32Array(n).map((_, i) => (i % 7) / 7), { shape: [1, ...b.manifest.bottleneck.shape], bits, range: b.manifest.bottleneck.range });
  let rawRps = 0;
  let bestBatch = 1;
  for (const batch of [1, 8, 32, maxBatch]) {
    const r = await rawThroughput(b, batch, Math.min(3, seconds));
    if (r > rawRps) [rawRps, bestBatch] = [r, batch];
  }
  const server = await startServer(models);
  try {
    for (const k of clientCounts) {
      // Throughput counts the answers that arrive inside the measurement window, after a warm-up
      // long enough for the queue to reach its steady state.
      const latencies: number[] = [];
      let batches = 0;
      const t0 = performance.now();
      const from = t0 + warmup * 1000;
      const end = from + seconds * 1000;
      await Promise.all(Array.from({ length: k }, () => client(server.url, b, { raw: enc.bytes, meta: enc.meta }, () => end, (ms, batch) => {
        const at = performance.now();
        if (at < from || at > end) return;
        latencies.push(ms);
        batches += 1 / batch;
      })));
      latencies.sort((a, c) => a - c);
      const rps = latencies.length / seconds;
      const row = { bundle: b.manifest.id, bits, clients: k, requests: latencies.length, rps: r2(rps), p50Ms: r2(percentile(latencies, 50)), p99Ms: r2(percentile(latencies, 99)), meanBatch: r2(latencies.length / batches), rawRps: r2(rawRps), rawBestBatch: bestBatch, ratio: r2(rps / rawRps), workers };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  } finally {
    await server.stop();
    await rm(models, { recursive: true, force: true });
  }
}
console.table(rows);
if (args.json) writeFileSync(args.json, JSON.stringify({ benchmark: 'serve', seconds, warmup, maxBatch, environment: environment(), rows }, null, 2) + '\n');
