/**
 * Overload against a spawned `offramp serve` (from dist): first the capacity, measured in the same
 * run as the highest open-loop rate answered with < 1% errors (a ramp), then 3× that rate. Reports
 * goodput against capacity, how fast the excess is shed (time to QUEUE_FULL), and the slowest
 * answer against the request deadline (an answer computed past its deadline would be slower),
 * and where the CPU went (cores used by this client, the server's event loop and its inference
 * threads, over the 3x run and over the ramp step that set the capacity).
 *
 * With `--server-cpus 1 --client-cpus 0` the server and this client run on separate cores (taskset),
 * so the client's own work does not take the server's CPU (the capacity is then one core's).
 *
 * With `--honor-retry-after` the 3x load's clients behave as the device SDK does: after a
 * QUEUE_FULL a connection sends nothing until its retry_after_ms has run, and the requests due
 * meanwhile are `held` (a device answers them locally). The offered rate is the same; what
 * reaches the edge is less. Without it every request is sent whatever the edge said (open loop).
 *
 * With `--capacity <rps>` the ramp is skipped and that figure is taken as the capacity (a quick,
 * repeatable probe of one change: 5 s at that rate to warm the server, then the same 3x step at a
 * fixed offered rate).
 *
 * Usage: npm run overload -- [--connections 200] [--seconds 15] [--deadline-ms 2000] [--server-cpus 1 --client-cpus 0]
 *        [--capacity <rps>] [--honor-retry-after] [--bundle models/fmnist-b32] [--serve-args="--worker-nice 10"] [--node-args="--cpu-prof"] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { environment, processCpuSeconds } from '../stats.js';
import { runLoad, type LoadReport } from './load.js';
import { pinSelf, serveBundleCopy } from './spawn.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { values: a } = parseArgs({
  options: {
    connections: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '15' },
    'deadline-ms': { type: 'string', default: '2000' },
    'server-cpus': { type: 'string' },
    'client-cpus': { type: 'string' },
    capacity: { type: 'string' },
    'serve-args': { type: 'string', default: '' },
    'node-args': { type: 'string', default: '' },
    'honor-retry-after': { type: 'boolean', default: false },
    bundle: { type: 'string', default: join(ROOT, 'models', 'fmnist-b32') },
    json: { type: 'string' },
  },
});
if (a['client-cpus']) pinSelf(a['client-cpus']);
const connections = Number(a.connections);
const deadlineMs = Number(a['deadline-ms']);
const { server, bundle, close } = await serveBundleCopy(a.bundle, a['serve-args'].split(' ').filter(Boolean), {
  cpus: a['server-cpus'],
  nodeArgs: a['node-args'].split(' ').filter(Boolean),
});
/** The server's event-loop lag since the last scrape (prom-client's default metrics, 10 ms resolution), from /metrics; {} when it cannot be read. */
async function serverLoopLag(url: string): Promise<Record<string, number>> {
  const text = await fetch(`${url.replace(/^ws/, 'http')}/metrics`)
    .then((r) => (r.ok ? r.text() : ''))
    .catch(() => '');
  const lag: Record<string, number> = {};
  for (const m of text.matchAll(/^offramp_nodejs_eventloop_lag_(p50|p99|max)_seconds (\S+)$/gm)) lag[m[1]!] = Number(m[2]) * 1000;
  return lag;
}
const errors = (r: LoadReport): number => Object.values(r.errored).reduce((x, y) => x + y, 0);

interface Cores {
  client: number;
  serverLoop: number;
  serverRest: number;
}

/**
 * Where the machine's CPU went during `run`, in cores (CPU seconds per second): this load client,
 * the server's event loop (its main thread) and the rest of the server (inference threads, GC).
 * With both on the same cores, what the client uses the server cannot.
 */
async function cpuDuring<T>(pid: number, run: () => Promise<T>): Promise<{ result: T; cores: Cores }> {
  const server0 = processCpuSeconds(pid);
  const loop0 = processCpuSeconds(pid, pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const secs = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const loop = processCpuSeconds(pid, pid) - loop0;
  const r = (x: number): number => Math.round((x / secs) * 100) / 100;
  return {
    result,
    cores: { client: r((client.user + client.system) / 1e6), serverLoop: r(loop), serverRest: r(processCpuSeconds(pid) - server0 - loop) },
  };
}
try {
  const ramp: { offeredRps: number; answeredRps: number; errorShare: number; cores: Cores }[] = [];
  let capacity = Number(a.capacity ?? 0);
  let capacityCores: Cores | undefined;
  for (let rps = 200; a.capacity === undefined && rps <= 20_000; rps += rps < 4000 ? 200 : 500) {
    const { result: r, cores } = await cpuDuring(server.pid, () =>
      runLoad({ url: server.url, bundle, connections, rate: rps / connections, seconds: 5, deadlineMs }),
    );
    const step = { offeredRps: rps, answeredRps: r.answered / 5, errorShare: errors(r) / r.sent, cores };
    ramp.push(step);
    console.error(JSON.stringify(step));
    if (step.errorShare >= 0.01 || r.lost > 0) break;
    capacity = step.answeredRps;
    capacityCores = cores;
  }
  // A given capacity: 5 s at it first, as the ramp's last step would have run (JIT-compiled code, a grown heap).
  if (a.capacity !== undefined) await runLoad({ url: server.url, bundle, connections, rate: capacity / connections, seconds: 5, deadlineMs });
  const seconds = Number(a.seconds);
  await serverLoopLag(server.url); // a scrape resets the server's lag histogram: the next one covers only the 3x run
  const { result: r, cores } = await cpuDuring(server.pid, () =>
    runLoad({
      url: server.url,
      bundle,
      connections,
      rate: (3 * capacity) / connections,
      seconds,
      deadlineMs,
      pid: server.pid,
      honorRetryAfter: a['honor-retry-after'],
    }),
  );
  const out = {
    bundle: bundle.manifest.id,
    cpus: { server: a['server-cpus'] ?? 'any', client: a['client-cpus'] ?? 'any' },
    serveArgs: a['serve-args'],
    capacityRps: capacity,
    ramp,
    overload: {
      offeredRps: 3 * capacity,
      answeredRps: r.answered / seconds,
      goodputShare: r.answered / seconds / capacity,
      // Clients holding requests back while a QUEUE_FULL's retry-after runs, as the SDK does (--honor-retry-after).
      honorRetryAfter: a['honor-retry-after'],
      sent: r.sent,
      held: r.held,
      answered: r.answered,
      errored: r.errored,
      lost: r.lost,
      duplicates: r.duplicates,
      latencyMs: r.latencyMs,
      errorLatencyMs: r.errorLatencyMs,
      // Where a slow refusal was held: the server's event loop, or this client's own.
      serverLoopLagMs: await serverLoopLag(server.url),
      clientLoopDelayMs: r.clientLoopDelayMs,
      deadlineMs,
      // Cores busy (CPU s per s) over the 3x run, and over the ramp step that set the capacity.
      cores,
      capacityCores,
    },
    serverExitCode: await close(),
    environment: environment(),
  };
  console.log(JSON.stringify(out, null, 2));
  if (a.json) writeFileSync(a.json, JSON.stringify(out, null, 2) + '\n');
} finally {
  await close();
}
