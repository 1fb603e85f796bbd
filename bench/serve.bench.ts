/**
 * Edge server throughput: K concurrent WebSocket clients (closed loop, one request in flight each,
 * protocol v2) against a spawned `offramp serve`, and — measured in the same run — the raw
 * throughput of the tail model called directly through onnxruntime-node in the same number of
 * worker threads at the best batch size. Ratio = server rps / raw rps.
 *
 * Besides the throughput ratio, CPU time that noise cannot fake: the server process's CPU per
 * answer (utime + stime from /proc/<pid>/stat over the measured window: the event loop and every
 * worker thread) against raw onnxruntime's CPU per inference at the same batch size (this
 * process's cpuUsage while only the raw workers run), and the load client's own CPU apart. Each
 * point is repeated (--repeats, default 3): the JSON keeps every run, the table the median and
 * the spread. Then the transport floor (bench/serve-floor.ts; --skip-floor leaves it out): a
 * server answering each request with a canned frame under the same clients, whose CPU per answer
 * is what one WebSocket message each way costs here (floorCpuRatio: the CPU ratio a server with
 * no other cost than that would reach).
 *
 * Usage: npm run bench:serve -- [--bundle models/fmnist-b32] [--clients 1,16,256] [--seconds 5]
 *        [--workers 2] [--repeats 3] [--skip-floor] [--rate-point <index>] [--dist] [--json out.json]
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
import { benchPayloads, helloFrame, protocols } from './reliability/load.js';
import { captureFrames, startFloorServer } from './serve-floor.js';
import { spawnServe } from './reliability/spawn.js';
import { environment, percentile, processCpuSeconds, r2 } from './stats.js';

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
    repeats: { type: 'string', default: '3' },
    'skip-floor': { type: 'boolean', default: false },
    dist: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const warmup = Number(args.warmup);
const workers = Number(args.workers);
const maxBatch = Number(args['max-batch']);
const clientCounts = args.clients.split(',').map(Number);
const repeats = Number(args.repeats);

/** Median, min and max. */
function spread(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}
const defaults = [join(ROOT, 'models', 'fmnist-b32'), join(ROOT, 'models-timing', 'resnet50-b12')].filter((d) => existsSync(d));
const bundles = args.bundle ?? (defaults.length ? defaults : [join(ROOT, 'test', 'fixtures', 'tiny')]);

async function startServer(modelsDir: string): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const server = await spawnServe(
    modelsDir,
    ['--workers', String(workers), '--max-batch', String(maxBatch), '--max-queue-delay-us', '2000', '--max-queue', '100000', '--max-in-flight', '1024'],
    { fromSource: !args.dist },
  );
  return { url: server.url, pid: server.pid, stop: async () => void (await server.stop()) };
}

/** One closed-loop client: sends the next request as soon as the previous one is answered. */
async function client(
  url: string,
  b: LoadedBundle,
  rate: number,
  payloads: Uint8Array[],
  until: () => number,
  record: (ms: number, batch: number) => void,
): Promise<void> {
  const ws = new WebSocket(url, protocols(), { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let id = 0;
  let sent = 0;
  let sentAt = 0;
  const sendNext = (): void => {
    sentAt = performance.now();
    const payload = payloads[sent++ % payloads.length]!;
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

/** Samples/s of the tail run directly in `workers` threads at batch size `batch`, and this process's CPU seconds per sample meanwhile. */
async function rawThroughput(b: LoadedBundle, batch: number, secs: number): Promise<{ rps: number; cpuPerSample: number }> {
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
      parentPort.postMessage('ready');
      await new Promise((r) => parentPort.once('message', r));
      let n = 0; const t0 = performance.now();
      while (performance.now() - t0 < secs * 1000) { await s.run(feeds); n += batch; }
      parentPort.postMessage(n / ((performance.now() - t0) / 1000));
    })();`;
  const ws = Array.from(
    { length: workers },
    () => new Worker(code, { eval: true, workerData: { path: b.paths.tail, input: b.manifest.bottleneck.tailInput, shape: sample, batch, secs } }),
  );
  await Promise.all(
    ws.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once('message', () => resolve());
          w.once('error', reject);
        }),
    ),
  );
  // Every session is loaded and warm: the CPU counted from here is the runs'.
  const cpu0 = process.cpuUsage();
  const rates = await Promise.all(
    ws.map(
      (w) =>
        new Promise<number>((resolve, reject) => {
          w.once('message', (r: number) => resolve(r));
          w.once('error', reject);
          w.postMessage('go');
        }),
    ),
  );
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(ws.map((w) => w.terminate()));
  const rps = rates.reduce((a, r) => a + r, 0);
  return { rps, cpuPerSample: (cpu.user + cpu.system) / 1e6 / (rps * secs) };
}

/**
 * One measured window: `k` closed-loop clients against the server at `target`; the answers that
 * arrive inside the window (after a warm-up long enough for the queue to reach its steady state),
 * and the server's and this process's CPU seconds read at the window's edges.
 */
async function measure(
  target: { url: string; pid: number },
  k: number,
  b: LoadedBundle,
  rate: number,
  payloads: Uint8Array[],
): Promise<{ latencies: number[]; batches: number; serverCpu: number; clientCpu: number }> {
  const latencies: number[] = [];
  let batches = 0;
  const from = performance.now() + warmup * 1000;
  const end = from + seconds * 1000;
  let serverCpu0 = NaN;
  let clientCpu0: NodeJS.CpuUsage | undefined;
  const startTimer = setTimeout(() => {
    serverCpu0 = processCpuSeconds(target.pid);
    clientCpu0 = process.cpuUsage();
  }, from - performance.now());
  let serverCpu = NaN;
  let clientCpu = NaN;
  const endTimer = setTimeout(() => {
    serverCpu = processCpuSeconds(target.pid) - serverCpu0;
    const c = process.cpuUsage(clientCpu0);
    clientCpu = (c.user + c.system) / 1e6;
  }, end - performance.now());
  await Promise.all(
    Array.from({ length: k }, () =>
      client(
        target.url,
        b,
        rate,
        payloads,
        () => end,
        (ms, batch) => {
          const at = performance.now();
          if (at < from || at > end) return;
          latencies.push(ms);
          batches += 1 / batch;
        },
      ),
    ),
  );
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  latencies.sort((a, c) => a - c);
  return { latencies, batches, serverCpu, clientCpu };
}

const rows: Record<string, unknown>[] = [];
for (const dir of bundles) {
  const b = await loadBundle(dir);
  const models = await mkdtemp(join(tmpdir(), 'offramp-bench-'));
  await cp(dir, join(models, basename(dir)), { recursive: true });
  const rate = args['rate-point'] !== undefined ? Number(args['rate-point']) : b.manifest.bottleneck.defaultRatePoint;
  const ratePoint = b.manifest.bottleneck.ratePoints[rate]?.id;
  if (ratePoint === undefined) throw new RangeError(`--rate-point ${rate}: ${b.manifest.id} has rate points 0..${b.manifest.bottleneck.ratePoints.length - 1}`);
  const payloads = benchPayloads(b, rate);
  let raw = { rps: 0, cpuPerSample: 0 };
  let bestBatch = 1;
  for (const batch of [1, 8, 32, maxBatch]) {
    const r = await rawThroughput(b, batch, Math.min(3, seconds));
    if (r.rps > raw.rps) [raw, bestBatch] = [r, batch];
  }
  const server = await startServer(models);
  const floor = !args['skip-floor'] ? await startFloorServer(await captureFrames(server.url, b, rate, payloads[0]!)) : undefined;
  try {
    for (const k of clientCounts) {
      const runs: Record<string, number>[] = [];
      for (let rep = 0; rep < repeats; rep++) {
        // The raw baseline again each time: the ratio compares runs taken next to each other.
        const rawNow = rep === 0 ? raw : await rawThroughput(b, bestBatch, Math.min(3, seconds));
        const { latencies, batches, serverCpu, clientCpu } = await measure(server, k, b, rate, payloads);
        const rps = latencies.length / seconds;
        const serverCpuPerAnswer = serverCpu / latencies.length;
        runs.push({
          rps,
          p50Ms: percentile(latencies, 50),
          p99Ms: percentile(latencies, 99),
          meanBatch: latencies.length / batches,
          rawRps: rawNow.rps,
          ratio: rps / rawNow.rps,
          serverCpuMsPerAnswer: serverCpuPerAnswer * 1000,
          rawCpuMsPerInference: rawNow.cpuPerSample * 1000,
          cpuRatio: serverCpuPerAnswer / rawNow.cpuPerSample,
          clientCpuMsPerAnswer: (clientCpu / latencies.length) * 1000,
        });
      }
      // The transport floor under the same clients: one window against the canned server.
      const f = floor && (await measure(floor, k, b, rate, payloads));
      const floorCpuPerAnswer = f ? f.serverCpu / f.latencies.length : NaN;
      const med = (key: string): number => spread(runs.map((r) => r[key]!)).median;
      const ratio = spread(runs.map((r) => r.ratio!));
      const cpuRatio = spread(runs.map((r) => r.cpuRatio!));
      const row = {
        bundle: b.manifest.id,
        ratePoint,
        payloadBytes: r2(payloads.reduce((a, p) => a + p.length, 0) / payloads.length),
        clients: k,
        repeats,
        rps: r2(med('rps')),
        p50Ms: r2(med('p50Ms')),
        p99Ms: r2(med('p99Ms')),
        meanBatch: r2(med('meanBatch')),
        rawRps: r2(med('rawRps')),
        rawBestBatch: bestBatch,
        ratio: Number(ratio.median.toPrecision(3)),
        ratioMin: Number(ratio.min.toPrecision(3)),
        ratioMax: Number(ratio.max.toPrecision(3)),
        serverCpuMsPerAnswer: Number(med('serverCpuMsPerAnswer').toPrecision(3)),
        rawCpuMsPerInference: Number(med('rawCpuMsPerInference').toPrecision(3)),
        cpuRatio: Number(cpuRatio.median.toPrecision(3)),
        cpuRatioMin: Number(cpuRatio.min.toPrecision(3)),
        cpuRatioMax: Number(cpuRatio.max.toPrecision(3)),
        clientCpuMsPerAnswer: Number(med('clientCpuMsPerAnswer').toPrecision(3)),
        ...(f && {
          floorRps: r2(f.latencies.length / seconds),
          floorCpuMsPerAnswer: Number((floorCpuPerAnswer * 1000).toPrecision(3)),
          // The CPU ratio of a server whose only cost beyond onnxruntime were one message each way.
          floorCpuRatio: Number((1 + floorCpuPerAnswer / (med('rawCpuMsPerInference') / 1000)).toPrecision(3)),
        }),
        workers,
        runs,
      };
      rows.push(row);
      const { runs: _runs, ...shown } = row;
      console.log(JSON.stringify(shown));
    }
  } finally {
    await floor?.stop();
    await server.stop();
    await rm(models, { recursive: true, force: true });
  }
}
console.table(rows.map(({ runs: _r, ...x }) => x));
if (args.json) writeFileSync(args.json, JSON.stringify({ benchmark: 'serve', seconds, warmup, maxBatch, environment: environment(), rows }, null, 2) + '\n');
