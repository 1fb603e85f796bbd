/**
 * Overload against a spawned `offramp serve` (from dist): first the capacity, measured in the same
 * run as the highest open-loop rate answered with < 1% errors (a ramp), then 3× that rate. Reports
 * goodput against capacity, how fast the excess is shed (time to QUEUE_FULL), and the slowest
 * answer against the request deadline (an answer computed past its deadline would be slower).
 *
 * With `--server-cpus 1 --client-cpus 0` the server and this client run on separate cores (taskset),
 * so the client's own work does not take the server's CPU (the capacity is then one core's).
 *
 * With `--capacity <rps>` the ramp is skipped and that figure is taken as the capacity (a quick,
 * repeatable probe of one change: the same 3x step at a fixed offered rate).
 *
 * Usage: npm run overload -- [--connections 200] [--seconds 15] [--deadline-ms 2000] [--server-cpus 1 --client-cpus 0]
 *        [--capacity <rps>] [--bundle models/fmnist-b32] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { environment } from '../stats.js';
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
    bundle: { type: 'string', default: join(ROOT, 'models', 'fmnist-b32') },
    json: { type: 'string' },
  },
});
if (a['client-cpus']) pinSelf(a['client-cpus']);
const connections = Number(a.connections);
const deadlineMs = Number(a['deadline-ms']);
const { server, bundle, close } = await serveBundleCopy(a.bundle, [], { cpus: a['server-cpus'] });
const errors = (r: LoadReport): number => Object.values(r.errored).reduce((x, y) => x + y, 0);
try {
  const ramp: { offeredRps: number; answeredRps: number; errorShare: number }[] = [];
  let capacity = Number(a.capacity ?? 0);
  for (let rps = 200; a.capacity === undefined && rps <= 4000; rps += 200) {
    const r = await runLoad({ url: server.url, bundle, connections, rate: rps / connections, seconds: 5, deadlineMs });
    const step = { offeredRps: rps, answeredRps: r.answered / 5, errorShare: errors(r) / r.sent };
    ramp.push(step);
    console.error(JSON.stringify(step));
    if (step.errorShare >= 0.01 || r.lost > 0) break;
    capacity = step.answeredRps;
  }
  const seconds = Number(a.seconds);
  const r = await runLoad({ url: server.url, bundle, connections, rate: (3 * capacity) / connections, seconds, deadlineMs, pid: server.pid });
  const out = {
    bundle: bundle.manifest.id,
    cpus: { server: a['server-cpus'] ?? 'any', client: a['client-cpus'] ?? 'any' },
    capacityRps: capacity,
    ramp,
    overload: {
      offeredRps: 3 * capacity,
      answeredRps: r.answered / seconds,
      goodputShare: r.answered / seconds / capacity,
      sent: r.sent,
      answered: r.answered,
      errored: r.errored,
      lost: r.lost,
      duplicates: r.duplicates,
      latencyMs: r.latencyMs,
      errorLatencyMs: r.errorLatencyMs,
      deadlineMs,
    },
    serverExitCode: await close(),
    environment: environment(),
  };
  console.log(JSON.stringify(out, null, 2));
  if (a.json) writeFileSync(a.json, JSON.stringify(out, null, 2) + '\n');
} finally {
  await close();
}
