/**
 * Steady load against a spawned `offramp serve` (its own process, so its RSS is its own):
 * N connections × r requests/s for t seconds, every id accounted for, RSS sampled each second.
 * RSS drift = (last sample − sample at the end of warm-up) / sample at the end of warm-up.
 *
 * Usage: npm run soak -- [--connections 2000] [--rate 1] [--seconds 600] [--warmup 60]
 *        [--bundle models/fmnist-b32] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { environment } from '../stats.js';
import { runLoad } from './load.js';
import { serveBundleCopy } from './spawn.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { values: a } = parseArgs({
  options: {
    connections: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '600' },
    warmup: { type: 'string', default: '60' },
    bundle: { type: 'string', default: join(ROOT, 'models', 'fmnist-b32') },
    json: { type: 'string' },
  },
});
const { server, bundle, close } = await serveBundleCopy(a.bundle);
try {
  const report = await runLoad({
    url: server.url,
    bundle,
    connections: Number(a.connections),
    rate: Number(a.rate),
    seconds: Number(a.seconds),
    pid: server.pid,
    deadlineMs: 5000,
  });
  const warm = Math.min(Number(a.warmup), report.rssKb.length - 1);
  const drift = (report.rssKb[report.rssKb.length - 1]! - report.rssKb[warm]!) / report.rssKb[warm]!;
  const out = {
    ...report,
    rssDriftAfterWarmup: drift,
    rssKb: undefined,
    rssKbFirstLast: [report.rssKb[0], report.rssKb[warm], report.rssKb[report.rssKb.length - 1]],
    environment: environment(),
  };
  console.log(JSON.stringify(out, null, 2));
  if (a.json) writeFileSync(a.json, JSON.stringify({ ...out, rssKb: report.rssKb }, null, 2) + '\n');
} finally {
  await close();
}
