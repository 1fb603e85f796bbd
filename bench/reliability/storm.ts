/**
 * Connection storm against a spawned `offramp serve` (from dist): N handshakes (upgrade + Hello →
 * HelloAck), at most `--concurrency` at once; the server's RSS before and after.
 *
 * Usage: npm run storm -- [--connections 5000] [--concurrency 500] [--bundle models/fmnist-b32] [--json out.json]
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBundle } from '../../protocol/bundle.js';
import { environment } from '../stats.js';
import { connectionStorm, rssKb } from './load.js';
import { spawnServe } from './spawn.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { values: a } = parseArgs({
  options: {
    connections: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '500' },
    bundle: { type: 'string', default: join(ROOT, 'models', 'fmnist-b32') }, json: { type: 'string' },
  },
});
const models = await mkdtemp(join(tmpdir(), 'offramp-storm-'));
await cp(a.bundle, join(models, basename(a.bundle)), { recursive: true });
const server = await spawnServe(models);
try {
  const rssKbBefore = rssKb(server.pid);
  const report = await connectionStorm({ url: server.url, bundle: await loadBundle(join(models, basename(a.bundle))), connections: Number(a.connections), concurrency: Number(a.concurrency) });
  const out = { ...report, rssKbBefore, rssKbAfter: rssKb(server.pid), serverExitCode: await server.stop(), environment: environment() };
  console.log(JSON.stringify(out, null, 2));
  if (a.json) writeFileSync(a.json, JSON.stringify(out, null, 2) + '\n');
} finally {
  await server.stop();
  await rm(models, { recursive: true, force: true });
}
