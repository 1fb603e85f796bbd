/**
 * Connection storm against a spawned `offramp serve` (from dist): N handshakes (upgrade + Hello →
 * HelloAck), at most `--concurrency` at once; the server's RSS before and after.
 *
 * Usage: npm run storm -- [--connections 5000] [--concurrency 500] [--bundle models/fmnist-b32] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { environment } from '../stats.js';
import { connectionStorm, rssKb } from './load.js';
import { serveBundleCopy } from './spawn.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { values: a } = parseArgs({
  options: {
    connections: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '500' },
    bundle: { type: 'string', default: join(ROOT, 'models', 'fmnist-b32') },
    json: { type: 'string' },
  },
});
const { server, bundle, close } = await serveBundleCopy(a.bundle);
try {
  const rssKbBefore = rssKb(server.pid);
  const report = await connectionStorm({ url: server.url, bundle, connections: Number(a.connections), concurrency: Number(a.concurrency) });
  const out = { ...report, rssKbBefore, rssKbAfter: rssKb(server.pid), serverExitCode: await close(), environment: environment() };
  console.log(JSON.stringify(out, null, 2));
  if (a.json) writeFileSync(a.json, JSON.stringify(out, null, 2) + '\n');
} finally {
  await close();
}
