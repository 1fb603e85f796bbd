/**
 * The browser page, measured: Chromium (Debian's, headless, playwright-core, a fresh profile per
 * trial) loads the demo from an in-process `offramp serve --web` through a counting TCP proxy, so
 * "transferred" is every byte the server sent (headers, compressed bodies, the worker's fetches
 * included). Per trial: the first load's bytes and time to ready (the page's `offramp:ready`
 * mark, with the loading steps' marks), then a reload's. Then the head in that browser against
 * the head in Node (onnxruntime-node and onnxruntime-web) on the same images. Medians; the
 * machine's load average is written beside them (the time to ready scales with free CPU).
 *
 * Usage: npm run bench:browser -- [--bundle models/fmnist-b32] [--trials 3] [--images 300] [--json out.json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { waitForListening } from '../scenario/serve-process.js';

const ROOT = join(import.meta.dirname, '..');

/** The flags every Chromium here runs with (and a fresh --user-data-dir per launch). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Targets from issue 20: bytes of a first load and of a reload, and time to ready on localhost. */
export const TARGETS = { firstLoadBytes: 8e6, reloadBytes: 200e3, readyMs: 2000 };

/** A spawned `offramp serve --web` (port 0, one worker): its http:// URL, what it printed, a stopper. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** The address from its "Open the browser demo at <url>" line. */
  pageUrl: string;
  stdout(): string;
  stop(): Promise<void>;
}

/** Spawns `offramp serve --web <flags> --models <models>` from source and waits until it listens. */
export async function spawnServe(models: string, ...flags: string[]): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'cli', 'serve-main.ts'),
      'serve',
      '--web',
      ...flags,
      '--models',
      models,
      '--port',
      '0',
      '--workers',
      '1',
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const url = (await waitForListening(child)).replace(/^ws/, 'http');
  // The page's address follows the machine-readable line.
  const pageUrl = await new Promise<string>((resolve, reject) => {
    const look = (): void => {
      const m = /^Open the browser demo at (\S+)$/m.exec(out);
      if (!m) return;
      child.stdout.off('data', look);
      resolve(m[1]!);
    };
    child.stdout.on('data', look);
    child.once('exit', (code) => reject(new Error(`offramp serve exited (${code}): ${out}`)));
    look();
  });
  return {
    child,
    url,
    pageUrl,
    stdout: () => out,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Chromium with a fresh profile; `close` removes the profile too. */
export async function launchChromium(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'offramp-chromium-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, viewport });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy on loopback that counts the bytes each way (down: server to browser). */
export async function countingProxy(targetPort: number): Promise<{ port: number; bytes(): { up: number; down: number }; close(): Promise<void> }> {
  let up = 0;
  let down = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const edge = connect(targetPort, '127.0.0.1');
    for (const s of [client, edge]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        edge.destroy();
      });
    }
    client.on('data', (d: Buffer) => (up += d.length));
    edge.on('data', (d: Buffer) => (down += d.length));
    client.pipe(edge);
    edge.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    bytes: () => ({ up, down }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Waits until the page says it is ready (`window.offramp.ready`). */
export async function waitReady(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.waitForFunction(() => (globalThis as unknown as { offramp?: { ready: boolean } }).offramp?.ready === true, null, { timeout: timeoutMs });
}

/** One load of the page: bytes the server sent, time to ready and the loading steps (ms since navigation), what was asked for. */
export interface LoadFigures {
  bytes: number;
  readyMs: number;
  marks: Record<string, number>;
  /** Every URL the page and its worker requested (from the cache or not). */
  urls: string[];
}

async function loadOnce(page: Page, proxy: { bytes(): { down: number } }, go: () => Promise<unknown>): Promise<LoadFigures> {
  const before = proxy.bytes().down;
  const urls: string[] = [];
  const onRequest = (r: { url(): string }): void => void urls.push(r.url());
  page.on('request', onRequest);
  await go();
  await waitReady(page);
  page.off('request', onRequest);
  const marks = await page.evaluate(() =>
    Object.fromEntries(
      performance
        .getEntriesByType('mark')
        .filter((m) => m.name.startsWith('offramp:'))
        .map((m) => [m.name.slice(8), Math.round(m.startTime)]),
    ),
  );
  return { bytes: proxy.bytes().down - before, readyMs: marks.ready ?? NaN, marks, urls };
}

/** A first load of `url` in a fresh profile, then a reload. */
export async function measureLoad(url: string, proxy: { bytes(): { down: number } }): Promise<{ first: LoadFigures; reload: LoadFigures }> {
  const b = await launchChromium();
  try {
    const first = await loadOnce(b.page, proxy, () => b.page.goto(url));
    const reload = await loadOnce(b.page, proxy, () => b.page.reload());
    return { first, reload };
  } finally {
    await b.close();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

// Long on purpose: a benchmark script read top to bottom — arguments, page loads, head timings in Chromium and Node.js, medians, verdict, JSON.
async function main(): Promise<void> {
  const [{ createDevice }, { imageAt, loadFashionMnistTest }, { manifestFromBytes }, { environment, percentile, r3 }] = await Promise.all([
    import('../head/index.js'),
    import('../head/datasets/fashion-mnist.js'),
    import('../protocol/bundle-files.js'),
    import('./stats.js'),
  ]);
  // fmnist-b32 once it is a bundle this version reads; the test bundle until then.
  const b32 = join(ROOT, 'models', 'fmnist-b32');
  const readable = await readFile(join(b32, 'manifest.json'))
    .then((m) => manifestFromBytes(m))
    .then(
      () => true,
      () => false,
    );
  const { values: args } = parseArgs({
    options: {
      bundle: { type: 'string', default: readable ? b32 : join(ROOT, 'test', 'fixtures', 'tiny') },
      trials: { type: 'string', default: '3' },
      images: { type: 'string', default: '300' },
      json: { type: 'string' },
    },
  });
  const n = Number(args.images);
  const warm = 30;
  const tmp = await mkdtemp(join(tmpdir(), 'offramp-bench-web-'));
  const models = join(tmp, 'models');
  await mkdir(models);
  await cp(args.bundle, join(models, basename(args.bundle)), { recursive: true });
  const served = await spawnServe(models);
  const edgeWs = served.url.replace(/^http/, 'ws');
  const proxy = await countingProxy(Number(new URL(served.url).port));
  const p50 = (xs: number[]): number =>
    r3(
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      ),
    );
  const trials: { first: LoadFigures; reload: LoadFigures; loadavg: number }[] = [];
  const heads: Record<string, unknown>[] = [];
  try {
    for (let t = 0; t < Number(args.trials); t++) trials.push({ ...(await measureLoad(`http://127.0.0.1:${proxy.port}/`, proxy)), loadavg: r3(loadavg()[0]!) });
    const b = await launchChromium();
    await b.page.goto(`${served.url}/`);
    await waitReady(b.page);
    const times = await b.page.evaluate(
      async ([count, w]) => {
        const o = (globalThis as unknown as { offramp: { configure(c: object): Promise<boolean>; run(i: number[]): Promise<{ head: number }[]> } }).offramp;
        await o.configure({ policy: 'exit-then-offload', device: 'host', link: 'loopback' });
        await o.run(Array.from({ length: w }, (_, i) => i));
        return (await o.run(Array.from({ length: count }, (_, i) => w + i))).map((a) => a.head);
      },
      [Math.min(n, 1000 - warm), warm] as const,
    );
    heads.push({
      where: 'Chromium (onnxruntime-web, wasm, in a worker)',
      headMsP50: p50(times),
      images: times.length,
      userAgent: await b.page.evaluate<string>('navigator.userAgent'),
    });
    await b.close();
    const data = await loadFashionMnistTest();
    for (const backend of ['onnxruntime-node', 'onnxruntime-web'] as const) {
      const d = await createDevice({
        bundle: args.bundle,
        backend,
        edge: edgeWs,
        policy: { force: 'exit-then-offload' },
        profile: { device: 'host', link: 'wifi' },
      });
      for (let i = 0; i < warm; i++) await d.infer(Uint8Array.from(imageAt(data, i)));
      const t: number[] = [];
      for (let i = 0; i < n; i++) t.push((await d.infer(Uint8Array.from(imageAt(data, warm + i)))).timings.head);
      await d.close();
      heads.push({ where: `Node.js (${backend})`, headMsP50: p50(t), images: n });
    }
  } finally {
    await proxy.close();
    await served.stop();
    await rm(tmp, { recursive: true, force: true });
  }
  const node = heads.find((r) => r.where === 'Node.js (onnxruntime-node)')?.headMsP50 as number;
  for (const r of heads) r.vsNode = r3((r.headMsP50 as number) / node);
  const load = {
    firstLoadBytes: median(trials.map((t) => t.first.bytes)),
    reloadBytes: median(trials.map((t) => t.reload.bytes)),
    readyMs: median(trials.map((t) => t.first.readyMs)),
    reloadReadyMs: median(trials.map((t) => t.reload.readyMs)),
    loadavg: median(trials.map((t) => t.loadavg)),
  };
  const verdict = {
    firstLoadBytes: load.firstLoadBytes <= TARGETS.firstLoadBytes,
    reloadBytes: load.reloadBytes <= TARGETS.reloadBytes,
    readyMs: load.readyMs <= TARGETS.readyMs,
  };
  console.table(
    trials.map((t) => ({
      firstMB: r3(t.first.bytes / 1e6),
      firstReadyMs: t.first.readyMs,
      reloadKB: r3(t.reload.bytes / 1e3),
      reloadReadyMs: t.reload.readyMs,
      loadavg: t.loadavg,
    })),
  );
  console.log('median', load, 'targets', TARGETS, 'met', verdict);
  console.table(heads);
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify({ bundle: basename(args.bundle), environment: environment(), load, targets: TARGETS, met: verdict, trials, heads }, null, 2) + '\n',
    );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
