/**
 * Hostile input at full size against a spawned `offramp serve` (from dist): 10^6 mutated and random
 * frames, an upgrade with 2,000 headers, fragment floods, zstd bombs; the server's RSS before and
 * after each, and its exit code at the end (0: it drained cleanly, nothing crashed it).
 *
 * Usage: npm run fuzz -- [--frames 1000000] [--seed N] [--bundle models/fmnist-b32] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { environment } from '../stats.js';
import { fragmentFlood, fuzzFrames, headerFlood, zstdBombs } from './hostile.js';
import { rssKb } from './load.js';
import { serveBundleCopy } from './spawn.js';

const ROOT = join(import.meta.dirname, '..', '..');
const { values: a } = parseArgs({
  options: {
    frames: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: String(Date.now() % 1e9) },
    bundle: { type: 'string', default: join(ROOT, 'models', 'fmnist-b32') },
    json: { type: 'string' },
  },
});
const { server, bundle, close } = await serveBundleCopy(a.bundle, ['--workers', '1']);
const rss = (): number => rssKb(server.pid);
const step = async <T>(name: string, f: () => Promise<T>): Promise<{ name: string; result: T; rssKbBefore: number; rssKbAfter: number; seconds: number }> => {
  const before = rss();
  const t0 = performance.now();
  const result = await f();
  const out = { name, result, rssKbBefore: before, rssKbAfter: rss(), seconds: (performance.now() - t0) / 1000 };
  console.error(JSON.stringify(out));
  return out;
};
try {
  const steps = [
    await step('frames', () => fuzzFrames({ url: server.url, bundle, frames: Number(a.frames), seed: Number(a.seed) })),
    await step('headers', () => headerFlood(server.port, 2000)),
    await step('fragments', () => fragmentFlood({ port: server.port, bundle, emptyFragments: 200_000 })),
    await step('zstd', () => zstdBombs({ url: server.url, bundle, count: 30_000 })),
  ];
  const exitCode = await close();
  const out = { bundle: bundle.manifest.id, seed: Number(a.seed), steps, serverExitCode: exitCode, environment: environment() };
  console.log(JSON.stringify(out, null, 2));
  if (a.json) writeFileSync(a.json, JSON.stringify(out, null, 2) + '\n');
} finally {
  await close();
}
