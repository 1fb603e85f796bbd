/**
 * Edge server throughput: K concurrent WebSocket clients (closed loop, one request in flight each,
 * protocol v2) against a spawned `offramp serve`, and — measured in the same run — the raw
 * throughput of the tail model called directly through onnxruntime-node in the same number of
 * worker threads at the best batch size. Ratio = server rps / raw rps.
 *
 * Usage: npm run bench:serve -- [--bundle models/fmnist-b32] [--clients 1,16,256] [--seconds 5]
 *        [--workers 2] [--rate-point <index>] [--dist] [--json out.json]
 * The server runs from source (tsx) unless --dist asks for the build (dist/cli).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { loadBundle, type LoadedBundle } from '../protocol/bundle.js';
import { decodeFrame, encodeFrame, errorCodeFromWire, WANT } from '../protocol/index.js';
import { fixedPayload, helloFrame, protocols } from './reliability/load.js';
import { spawnServe } from './reliability/spawn.js';
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
    'rate-point': { type: 'string' },
    dist: { type: 'boolean', default: false },
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
  const server = await spawnServe(modelsDir, ['--workers', String(workers), '--max-batch', String(maxBatch), '--max-queue-delay-us', '2000', '--max-queue', '100000', '--max-in-flight', '1024'], { fromSource: !args.dist });
  return { url: server.url, stop: async () => void (await server.stop()) };
}

/** One closed-loop client: sends the next request as soon as the previous one is answered. */
async function client(url: string, b: LoadedBundle, rate: number, payload: Uint8Array, until: () => number, record: (ms: number, batch: number) => void): Promise<void> {
  const ws = new WebSocket(url, protocols(), { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  let id = 0;
  let sentAt = 0;
  const sendNext = (): void => {
    sentAt = performance.now();
    // Ids are scoped to the connection and one is in flight at a time: id 1 every time (one byte).
    id = 1;
    ws.send(encodeFrame({ type: 'request', request: { id, payload, rate, deadlineMs: 60_000, want: WANT.timings } }));
  };
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const r = decodeFrame(data);
      if (!r.ok) return reject(r.error);
      const msg = r.message;
      if (msg.type === 'helloAck') return sendNext();
      if (msg.type === 'error') return reject(new Error(`${errorCodeFromWire(msg.error.code) ?? msg.error.code}: ${msg.error.message}`));
      if (msg.type !== 'answer') return;
      record(performance.now() - sentAt, msg.answer.timings?.batchSize ?? 1);
      if (performance.now() < until()) sendNext();
      else resolve();
    });
    ws.send(helloFrame(b, { clientName: 'bench', ratePoints: [rate] }));
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
  const rate = args['rate-point'] !== undefined ? Number(args['rate-point']) : b.manifest.bottleneck.defaultRatePoint;
  const ratePoint = b.manifest.bottleneck.ratePoints[rate]?.id;
  if (ratePoint === undefined) throw new RangeError(`--rate-point ${rate}: ${b.manifest.id} has rate points 0..${b.manifest.bottleneck.ratePoints.length - 1}`);
  const payload = fixedPayload(b, rate);
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
      await Promise.all(Array.from({ length: k }, () => client(server.url, b, rate, payload, () => end, (ms, batch) => {
        const at = performance.now();
        if (at < from || at > end) return;
        latencies.push(ms);
        batches += 1 / batch;
      })));
      latencies.sort((a, c) => a - c);
      const rps = latencies.length / seconds;
      const row = { bundle: b.manifest.id, ratePoint, payloadBytes: payload.length, clients: k, requests: latencies.length, rps: r2(rps), p50Ms: r2(percentile(latencies, 50)), p99Ms: r2(percentile(latencies, 99)), meanBatch: r2(latencies.length / batches), rawRps: r2(rawRps), rawBestBatch: bestBatch, ratio: Number((rps / rawRps).toPrecision(3)), workers };
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
