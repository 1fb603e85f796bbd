/**
 * The demo page in a real browser: Debian's Chromium (headless, playwright-core, fresh profiles)
 * against `offramp serve --web` (spawned, port 0) with the test bundle. What a visitor meets:
 * the load (bytes on the wire through a counting proxy, time to ready, a cached reload), every
 * kind of answer the legend names, checked label by label against the same graphs in
 * onnxruntime-node, one live device however fast the settings change (counted by the server and
 * by the worker), the page at 390 px, and no console errors along the way.
 */
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingProxy, launchChromium, measureLoad, spawnServe, TARGETS, waitReady, type ServeProcess } from '../../bench/browser.bench.js';
import { decodeFeatures, encodeFeatures } from '../../bottleneck/features.js';
import { resolveRatePoints } from '../../bottleneck/rate-points.js';
import { imageAt, loadFashionMnistTest, type ImageSet } from '../../head/datasets/fashion-mnist.js';
import { openBundle, type OpenedBundle } from '../../protocol/bundle-files.js';
import { normalizeInto } from '../../protocol/normalize.js';
import { argmax } from '../../protocol/scores.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'test', 'fixtures', 'tiny');
/**
 * Time to ready allowed here. The target is 2 s on an idle machine (bench:browser reports it
 * with the load average); this machine shares two cores with a training run, which stretches
 * the wasm compile 3–4×. What this bound catches: a page that waits on something it should not.
 */
const READY_LIMIT_MS = Number(process.env.OFFRAMP_READY_LIMIT_MS ?? 10_000);

interface Plain {
  index: number;
  truth: number;
  label: number;
  path: string;
  ratePoint?: string;
  reason?: string;
  head: number;
  bytesUp: number;
  bytesDown: number;
}
interface PageApi {
  configure(c: object): Promise<boolean>;
  settled(): Promise<{ outcome: string }>;
  connection(): { connected: boolean; sockets: number; mostSockets: number };
  run(indices: number[], policy?: string): Promise<Plain[]>;
  compare(n: number): Promise<{ policy: string }[]>;
  runs(): { policy: string; answers: Plain[] }[];
  setEdgeAway(away: boolean): Promise<boolean>;
}
/** Calls `window.offramp.<name>(...args)` in the page. */
const call = <K extends keyof PageApi>(page: Page, name: K, ...args: Parameters<PageApi[K]>): Promise<Awaited<ReturnType<PageApi[K]>>> =>
  page.evaluate(([n, a]) => (globalThis as unknown as { offramp: Record<string, (...x: unknown[]) => never> }).offramp[n]!(...a), [
    name as string,
    args as unknown[],
  ] as const);

let tmp: string;
let server: ServeProcess;
let httpUrl: string;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;
let data: ImageSet;
let opened: OpenedBundle;
const sessions = {} as Record<'head' | 'tail' | 'full', ort.InferenceSession>;
const problems: string[] = [];

/** This machine's first non-loopback IPv4 address (what a phone on the network would use), if any. */
function lanAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a?.family === 'IPv4' && !a.internal)?.address;
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Console errors and uncaught exceptions of a page (and its worker), collected for the last test. */
function watch(p: Page): void {
  p.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-web-'));
  await mkdir(join(tmp, 'models'));
  await cp(BUNDLE, join(tmp, 'models', 'tiny'), { recursive: true });
  opened = await openBundle((name) => readFile(join(BUNDLE, name)).then((b) => new Uint8Array(b)), ['head', 'tail', 'full']);
  for (const g of ['head', 'tail', 'full'] as const) sessions[g] = await ort.InferenceSession.create(opened.graphs[g]!);
  data = await loadFashionMnistTest();
  server = await spawnServe(join(tmp, 'models'));
  httpUrl = server.url;
  browser = await launchChromium();
  page = browser.page;
  watch(page);
  await page.goto(`${httpUrl}/`);
  await waitReady(page);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await Promise.all(Object.values(sessions).map((s) => s.release()));
  await rm(tmp, { recursive: true, force: true });
});

/** The label the same graphs give in onnxruntime-node (and the TS codec) on that answer's path. */
async function expected(a: Plain): Promise<number> {
  const m = opened.manifest;
  const x = normalizeInto(imageAt(data, a.index), m.input, new Float32Array(784));
  const feed = (name: string, v: Float32Array, shape: readonly number[]): Record<string, ort.Tensor> => ({
    [name]: new ort.Tensor('float32', v, [1, ...shape]),
  });
  const full = async (): Promise<number> =>
    argmax((await sessions.full.run(feed(m.graphs.full.inputs[0]!.name, x, m.input.shape)))[m.graphs.full.outputs[0]!.name]!.data as Float32Array);
  if (a.path === 'local' || a.path === 'fallback' || a.ratePoint === 'input') return full();
  const h = await sessions.head.run(feed(m.graphs.head.inputs[0]!.name, x, m.input.shape));
  if (a.path.startsWith('exit:')) return argmax(h[m.exits[Number(a.path.slice(5))]!.output]!.data as Float32Array);
  const i = m.bottleneck.ratePoints.findIndex((rp) => rp.id === a.ratePoint);
  const rp = resolveRatePoints(m, opened.tables)[i]!;
  const enc = encodeFeatures(h[m.bottleneck.headOutput]!.data as Float32Array, m.bottleneck.shape, rp);
  const y = await sessions.tail.run(feed(m.bottleneck.tailInput, decodeFeatures(enc.payload, enc.zstd, m.bottleneck.shape, rp), m.bottleneck.shape));
  return argmax(y[m.graphs.tail.outputs[0]!.name]!.data as Float32Array);
}

/** offramp_connections from the server's /metrics: WebSockets the edge holds (the link proxies' included). */
async function edgeConnections(): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(/^offramp_connections (\d+)$/m.exec(text)?.[1]);
}

describe('offramp serve --web', () => {
  it('prints the page address as a plain line', () => {
    expect(server.pageUrl).toBe(`${httpUrl}/`);
    expect(server.stdout()).toContain(`\nOpen the browser demo at ${httpUrl}/\n`);
  });

  it("with --lan, works from another machine's view (a plain-http address, not a secure context); without, its links take loopback only", async () => {
    const ip = lanAddress();
    if (!ip) return void console.warn('no non-loopback IPv4 address here: --lan not tried');
    const links = ((await (await fetch(`${httpUrl}/v1/demo`)).json()) as { links: Record<string, { port: number }> }).links;
    expect(await accepts('127.0.0.1', links.wifi!.port)).toBe(true);
    expect(await accepts(ip, links.wifi!.port)).toBe(false);
    const lan = await spawnServe(join(tmp, 'models'), '--lan');
    try {
      const port = new URL(lan.url).port;
      expect(lan.pageUrl).toBe(`http://${ip}:${port}/`);
      const other = await browser.context.newPage();
      watch(other);
      await other.goto(`http://${ip}:${port}/`);
      await waitReady(other);
      // Browsers give crypto.subtle (which verifies the bundle) to secure contexts only.
      expect(await other.evaluate<boolean>('isSecureContext')).toBe(false);
      expect(await call(other, 'configure', { device: 'mcu', link: 'wifi', policy: 'always-offload' })).toBe(true);
      const answers = await call(other, 'run', [0, 1, 2, 3]);
      expect(answers.map((a) => a.path)).toEqual(['edge', 'edge', 'edge', 'edge']);
      for (const a of answers) expect(a.label).toBe(await expected(a));
      await other.close();
    } finally {
      await lan.stop();
    }
  }, 120_000);

  it(`loads in ≤ ${TARGETS.firstLoadBytes / 1e6} MB with onnxruntime's plain wasm, reloads in ≤ ${TARGETS.reloadBytes / 1e3} kB from the cache, and is ready in time`, async () => {
    const proxy = await countingProxy(Number(new URL(httpUrl).port));
    try {
      const { first, reload } = await measureLoad(`http://127.0.0.1:${proxy.port}/`, proxy);
      console.log(
        `first load ${(first.bytes / 1e6).toFixed(2)} MB, ready ${first.readyMs} ms; reload ${(reload.bytes / 1e3).toFixed(1)} kB, ready ${reload.readyMs} ms; steps ${JSON.stringify(first.marks)}`,
      );
      // The runtime alone is 14.2 MB as it is (2.7 MB with brotli): the first load cannot pass uncompressed.
      expect(first.bytes).toBeGreaterThan(1e6);
      expect(first.bytes).toBeLessThanOrEqual(TARGETS.firstLoadBytes);
      expect(reload.bytes).toBeLessThanOrEqual(TARGETS.reloadBytes);
      expect(first.readyMs).toBeLessThanOrEqual(READY_LIMIT_MS);
      expect(reload.readyMs).toBeLessThanOrEqual(READY_LIMIT_MS);
      // The page is ready once the runtime has been fetched and compiled.
      expect(first.marks['runtime-fetched']).toBeLessThan(first.marks['runtime-compiled']!);
      expect(first.marks['runtime-compiled']).toBeLessThan(first.marks.ready!);
      // One wasm, the plain build (not JSEP/WebGPU, asyncify or JSPI), asked for once.
      const wasm = first.urls.filter((u) => u.endsWith('.wasm'));
      expect(wasm).toHaveLength(1);
      expect(wasm[0]).toMatch(/\/assets\/ort-wasm-simd-threaded-[\w-]{8}\.wasm$/);
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('answers on every path the legend names, each label as the same graphs give it in onnxruntime-node', async () => {
    const legend = (await page.locator('#legend dt').allTextContents()).map((t) => t.trim());
    expect(legend).toEqual(['exit:0', 'edge (split)', 'edge (full offload)', 'local', 'fallback']);
    expect(await call(page, 'configure', { device: 'mcu', link: 'lte', budgetPct: 0.5, objective: 'latency', rate: 'auto' })).toBe(true);
    const compared = await call(page, 'compare', 20);
    expect(compared.map((r) => r.policy)).toEqual(['adaptive', 'exit-then-offload', 'always-offload', 'full-offload', 'always-local']);
    expect(await page.locator('#runs tbody tr').count()).toBe(5);
    // The edge taken away: what would have gone there is answered locally, with the reason.
    expect(await call(page, 'setEdgeAway', true)).toBe(false);
    const away = await call(
      page,
      'run',
      Array.from({ length: 20 }, (_, i) => 20 + i),
      'exit-then-offload',
    );
    expect(await call(page, 'setEdgeAway', false)).toBe(true);
    for (const a of away) expect(a.path === 'fallback' ? a.reason : 'none').toBe(a.path === 'fallback' ? 'disconnected' : 'none');
    const runs = await call(page, 'runs');
    const byPolicy = Object.fromEntries(runs.slice(0, 5).map((r) => [r.policy, r.answers]));
    expect(byPolicy['always-local']!.every((a) => a.path === 'local' && a.bytesUp === 0)).toBe(true);
    expect(byPolicy['full-offload']!.every((a) => a.path === 'edge' && a.ratePoint === 'input' && a.head === 0)).toBe(true);
    expect(byPolicy['always-offload']!.every((a) => a.path === 'edge' && a.ratePoint !== 'input' && a.bytesUp > 0 && a.bytesDown > 0)).toBe(true);
    const all = runs.flatMap((r) => r.answers);
    const kinds = new Set(
      all.map((a) => (a.path.startsWith('exit:') ? a.path : a.path === 'edge' ? (a.ratePoint === 'input' ? 'edge (full offload)' : 'edge (split)') : a.path)),
    );
    expect([...kinds].sort()).toEqual([...legend].sort());
    for (const a of all) expect(a.label, `image ${a.index} on ${a.path} ${a.ratePoint ?? ''}`).toBe(await expected(a));
    expect(all.length).toBe(5 * 20 + 20);
  }, 180_000);

  it('shows top-k probability bars for a chosen image, and answers a drawing and a picked picture', async () => {
    await page.click('#gallery canvas[data-i="7"]');
    await page.waitForSelector('#detail .answer');
    const names = await page.locator('#detail .chart .bar-label').allTextContents();
    const values = (await page.locator('#detail .chart .bar-value').allTextContents()).map((v) => Number.parseFloat(v));
    expect(names).toHaveLength(5);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    expect(await page.textContent('#detail .answer strong')).toBe(names[0]);
    expect(await page.textContent('#detail')).toContain('test image #7');
    const box = (await page.locator('#draw').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.15);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.85, { steps: 8 });
    await page.mouse.up();
    await page.click('#draw-classify');
    await page.waitForFunction("document.querySelector('#detail').textContent.includes('your drawing')");
    expect(await page.locator('#detail .chart .bar-row').count()).toBe(5);
    // A picture: a PNG of a test image as the page shows it (scaled up, in its coloured border).
    const png = await page.locator('#gallery canvas[data-i="1"]').screenshot();
    await page.setInputFiles('#upload', { name: 'pullover.png', mimeType: 'image/png', buffer: png });
    await page.waitForFunction("document.querySelector('#detail').textContent.includes('pullover.png')");
    expect(await page.locator('#detail .chart .bar-row').count()).toBe(5);
  }, 60_000);

  it('keeps one live device however fast the settings change (the server and the worker count its sockets)', async () => {
    const links = ['3g', 'lte', 'wifi', '5g', 'offline', 'lte-edge-of-cell', 'loopback'];
    const devices = ['mcu', 'phone-low', 'rpi4', 'laptop', 'host', 'phone-mid'];
    const policies = ['always-offload', 'adaptive', 'full-offload', 'exit-then-offload', 'always-local'];
    for (let i = 0; i < 12; i++) {
      await page.selectOption('#link', links[i % links.length]!);
      await page.selectOption('#device', devices[i % devices.length]!);
      if (i % 3 === 0) await page.selectOption('#policy', policies[i % policies.length]!);
    }
    await page.selectOption('#link', 'lte');
    expect((await call(page, 'settled')).outcome).toBe('ready');
    await expect.poll(() => call(page, 'connection').then((c) => c.connected), { timeout: 10_000 }).toBe(true);
    await expect.poll(edgeConnections, { timeout: 10_000 }).toBe(1);
    const c = await call(page, 'connection');
    expect(c.sockets).toBe(1);
    // The old device's socket always closed before the next one opened.
    expect(c.mostSockets).toBe(1);
    // ... and the device that is left works.
    expect(await call(page, 'run', [0, 1, 2])).toHaveLength(3);
    expect(await edgeConnections()).toBe(1);
  }, 120_000);

  it('fits a 390 px wide phone screen without sideways scrolling', async () => {
    const phone = await browser.context.newPage();
    watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${httpUrl}/`);
    await waitReady(phone);
    await call(phone, 'configure', { device: 'mcu', link: 'wifi' });
    await call(phone, 'compare', 10);
    await phone.click('#gallery canvas[data-i="3"]');
    await phone.waitForSelector('#detail .answer');
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // Every element's right edge, not only the page's: a child clipped by overflow:hidden hides nothing here.
    const beyond = await phone.evaluate<string[]>(
      "[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5).map((e) => e.tagName + '#' + e.id + '.' + e.className)",
    );
    expect(beyond).toEqual([]);
    await phone.close();
  }, 120_000);

  it('logs no console errors and throws nothing along the way', async () => {
    // The README's screenshot: OFFRAMP_SCREENSHOT=docs/img/web-demo.png npx vitest run test/web
    // (the default settings, every policy on the first 50 images, one image up close).
    if (process.env.OFFRAMP_SCREENSHOT) {
      await page.click('#reset');
      await page.reload();
      await waitReady(page);
      await call(page, 'compare', 50);
      await page.click('#gallery canvas[data-i="7"]');
      await page.waitForSelector('#detail .answer');
      await page.screenshot({ path: process.env.OFFRAMP_SCREENSHOT, fullPage: true });
    }
    expect(problems).toEqual([]);
  }, 120_000);
});
