/**
 * The head in a real browser against the head in Node, same bundle, same images, same run:
 * Chromium (Debian's, headless, playwright-core) loads the demo page from an in-process
 * `offramp serve --web`, and runs N test images with the exit-then-offload policy; the page's
 * answers carry the SDK's own head timings. The same SDK in this Node process runs the same
 * images with onnxruntime-node and with onnxruntime-web (wasm). Medians after a warm-up.
 *
 * Usage: npm run bench:browser -- [--bundle models/fmnist-b32] [--images 300] [--json out.json]
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startWebDemo, webOptions } from '../cli/web.js';
import { createDevice, type BackendName } from '../head/index.js';
import { createEdgeServer } from '../tail/index.js';
import { imageAt, loadFashionMnistTest } from '../head/datasets/fashion-mnist.js';
import { environment, percentile, r3 } from './stats.js';

const ROOT = join(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { bundle: { type: 'string', default: join(ROOT, 'models', 'fmnist-b32') }, images: { type: 'string', default: '300' }, json: { type: 'string' } } });
const n = Number(args.images);
const warm = 30;
const models = await mkdtemp(join(tmpdir(), 'offramp-bench-web-'));
await cp(args.bundle, join(models, basename(args.bundle)), { recursive: true });
const web = webOptions();
const edge = await createEdgeServer({ models, port: 0, workers: 1, web });
const stop = await startWebDemo(web, models, Number(new URL(edge.url).port));
const p50 = (xs: number[]): number => r3(percentile([...xs].sort((a, b) => a - b), 50));
const rows: Record<string, unknown>[] = [];
try {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
  const page = await browser.newPage();
  await page.goto(`${edge.url.replace(/^ws/, 'http')}/`);
  await page.waitForFunction(() => (globalThis as unknown as { offramp?: { ready: boolean } }).offramp?.ready === true, null, { timeout: 60_000 });
  const heads = await page.evaluate(async ([count, w]) => {
    const o = (globalThis as unknown as { offramp: { configure(c: object): Promise<boolean>; run(i: number[]): Promise<{ timings: { head: number } }[]> } }).offramp;
    await o.configure({ policy: 'exit-then-offload' });
    await o.run(Array.from({ length: w }, (_, i) => i));
    return (await o.run(Array.from({ length: count }, (_, i) => w + i))).map((a) => a.timings.head);
  }, [n, warm] as const);
  rows.push({ where: 'Chromium (onnxruntime-web, wasm)', headMsP50: p50(heads), images: n, userAgent: await page.evaluate(() => (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent) });
  await browser.close();
  const data = await loadFashionMnistTest();
  for (const backend of ['onnxruntime-node', 'onnxruntime-web'] as BackendName[]) {
    const d = await createDevice({ bundle: args.bundle, backend, edge: edge.url, policy: { force: 'exit-then-offload' } });
    for (let i = 0; i < warm; i++) await d.infer(Uint8Array.from(imageAt(data, i)));
    const t: number[] = [];
    for (let i = 0; i < n; i++) t.push((await d.infer(Uint8Array.from(imageAt(data, warm + i)))).timings.head);
    await d.close();
    rows.push({ where: `Node.js (${backend})`, headMsP50: p50(t), images: n });
  }
} finally {
  await stop();
  await edge.close();
  await rm(models, { recursive: true, force: true });
}
const node = rows.find((r) => r.where === 'Node.js (onnxruntime-node)')!.headMsP50 as number;
for (const r of rows) r.vsNode = r3((r.headMsP50 as number) / node);
console.table(rows);
if (args.json) writeFileSync(args.json, JSON.stringify({ bundle: basename(args.bundle), environment: environment(), rows }, null, 2) + '\n');
