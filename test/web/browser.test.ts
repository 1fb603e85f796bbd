/**
 * The device in a real browser: Debian's Chromium (headless, driven by playwright-core) loads the
 * demo page from `offramp serve --web` (spawned, port 0), and the SDK runs there — head and exits
 * in onnxruntime-web, the TS codec, the WebSocket transport. Its answers are checked against the
 * same graphs run here in onnxruntime-node, path by path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageAt, loadFashionMnistTest, type ImageSet } from '../../head/datasets/fashion-mnist.js';
import { decodeFeatures, encodeFeatures } from '../../bottleneck/codec.js';
import { waitForListening } from '../../cli/serve.js';
import { manifestFromBytes } from '../../protocol/bundle.js';
import type { Manifest } from '../../protocol/manifest.js';
import { normalizeInto } from '../../protocol/normalize.js';
import { argmax } from '../../protocol/scores.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BUNDLE = join(ROOT, 'models', 'fmnist-b32');

interface Answer {
  index: number;
  label: number;
  path: string;
  reason?: string;
  bits?: number;
  /** 0 when the device skipped the head (the raw input went to the edge's full model). */
  head: number;
}

let tmp: string;
let server: ChildProcess;
let browser: Browser;
let page: Page;
let url: string;
let data: ImageSet;
let m: Manifest;
const sessions: Record<'head' | 'tail' | 'full', ort.InferenceSession> = {} as never;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-web-'));
  await mkdir(join(tmp, 'models'));
  await cp(BUNDLE, join(tmp, 'models', 'fmnist-b32'), { recursive: true });
  m = manifestFromBytes(await readFile(join(BUNDLE, 'manifest.json')));
  for (const g of ['head', 'tail', 'full'] as const) sessions[g] = await ort.InferenceSession.create(join(BUNDLE, m.graphs[g].file));
  data = await loadFashionMnistTest();
  server = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'index.ts'), 'serve', '--web', '--models', join(tmp, 'models'), '--port', '0', '--workers', '1', '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  url = (await waitForListening(server)).replace(/^ws/, 'http');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-default-apps'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${url}/`);
  await page.waitForFunction(() => (globalThis as unknown as { offramp?: { ready: boolean } }).offramp?.ready === true, null, { timeout: 60_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  await Promise.all(Object.values(sessions).map((s) => s.release()));
  await rm(tmp, { recursive: true, force: true });
});

const run = (indices: number[]): Promise<Answer[]> =>
  page.evaluate(async (ix) => {
    const w = globalThis as unknown as { offramp: { run(i: number[]): Promise<(Omit<Answer, 'head'> & { timings: { head: number } })[]> } };
    return (await w.offramp.run(ix)).map((a) => ({ index: a.index, label: a.label, path: a.path, reason: a.reason, bits: a.bits, head: a.timings.head }));
  }, indices);

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, k) => from + k);

/** Sets the page's controls (link, device, policy, …); resolves whether the device is connected. */
const configure = (c: Record<string, string>): Promise<boolean> =>
  page.evaluate((cfg) => (globalThis as unknown as { offramp: { configure(x: object): Promise<boolean> } }).offramp.configure(cfg), c);

/** The label the same graphs give here (onnxruntime-node, the TS codec) for that path. */
async function expected(a: Answer): Promise<number> {
  const x = normalizeInto(imageAt(data, a.index), m.input, new Float32Array(784));
  const feed = (name: string, v: Float32Array, shape: readonly number[]): Record<string, ort.Tensor> => ({ [name]: new ort.Tensor('float32', v, [1, ...shape]) });
  if (a.path === 'local' || a.path === 'fallback' || (a.path === 'edge' && a.head === 0)) return argmax((await sessions.full.run(feed(m.graphs.full.inputs[0]!.name, x, m.input.shape)))[m.graphs.full.outputs[0]!.name]!.data as Float32Array);
  const h = await sessions.head.run(feed(m.graphs.head.inputs[0]!.name, x, m.input.shape));
  if (a.path === 'exit:0') return argmax(h[m.exits[0]!.output]!.data as Float32Array);
  const enc = encodeFeatures(h[m.bottleneck.headOutput]!.data as Float32Array, { shape: [1, ...m.bottleneck.shape], bits: a.bits!, range: m.bottleneck.range });
  const y = await sessions.tail.run(feed(m.bottleneck.tailInput, decodeFeatures(enc.bytes, enc.meta), m.bottleneck.shape));
  return argmax(y[m.graphs.tail.outputs[0]!.name]!.data as Float32Array);
}

async function expectGolden(answers: Answer[]): Promise<void> {
  for (const a of answers) expect(a.label, `image ${a.index} on ${a.path}`).toBe(await expected(a));
}

const count = (answers: Answer[], pred: (a: Answer) => boolean): number => answers.filter(pred).length;

describe('the device in Chromium', () => {
  // The device models are picked so each decision has a wide margin, not a coin flip on timing
  // noise: on loopback a modelled rpi4 (this browser's compute × 8) pays far more for the full
  // model than for a ~1 ms round trip plus the server's few ms; on 3g the 150 ms round trip costs
  // far more than the full model in wasm on this host.
  it('answers 50 gallery images like the same graphs in onnxruntime-node, path by path; a slow device sends its work to the edge over loopback', async () => {
    expect(await configure({ device: 'rpi4' })).toBe(true);
    const answers = await run(range(0, 50));
    expect(answers).toHaveLength(50);
    await expectGolden(answers);
    // Non-exits (or, when the modelled head alone costs more than a round trip, every input's raw
    // sample) go to the edge.
    expect(count(answers, (a) => a.path === 'edge')).toBeGreaterThan(0);
    expect(count(answers, (a) => a.path === 'local' || a.path === 'fallback')).toBe(0);
  }, 120_000);

  it('on 3g the policy stops offloading (a 150 ms round trip costs more than the local model) while the exits stay', async () => {
    expect(await configure({ link: '3g', device: 'host' })).toBe(true);
    const answers = await run(range(50, 50));
    await expectGolden(answers);
    expect(count(answers, (a) => a.path === 'edge')).toBe(0);
    expect(count(answers, (a) => a.path === 'local')).toBeGreaterThan(0);
    expect(count(answers, (a) => a.path === 'exit:0')).toBeGreaterThan(10);
  }, 120_000);

  it('with the edge taken away every request still answers, by fallback where it would have offloaded', async () => {
    expect(await configure({ link: 'loopback', policy: 'exit-then-offload' })).toBe(true);
    const before = await run(range(100, 10));
    expect(count(before, (a) => a.path === 'edge') + count(before, (a) => a.path === 'exit:0')).toBe(10);
    await page.evaluate(() => (globalThis as unknown as { offramp: { setEdgeAway(a: boolean): Promise<boolean> } }).offramp.setEdgeAway(true));
    const answers = await run(range(110, 30));
    expect(answers).toHaveLength(30);
    await expectGolden(answers);
    expect(count(answers, (a) => a.path === 'edge')).toBe(0);
    const fallbacks = answers.filter((a) => a.path === 'fallback');
    expect(fallbacks.length).toBeGreaterThan(0);
    expect(fallbacks.length + count(answers, (a) => a.path === 'exit:0')).toBe(30); // every non-exit fell back
    for (const f of fallbacks) expect(f.reason).toBe('disconnected');
    expect(await page.evaluate(() => (globalThis as unknown as { offramp: { setEdgeAway(a: boolean): Promise<boolean> } }).offramp.setEdgeAway(false))).toBe(true);
    // The README's screenshot: OFFRAMP_SCREENSHOT=docs/img/web-demo.png npx vitest run test/web
    const shot = process.env.OFFRAMP_SCREENSHOT ?? join(tmp, 'web-demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect((await readFile(shot)).subarray(1, 4).toString()).toBe('PNG');
  }, 120_000);
});
