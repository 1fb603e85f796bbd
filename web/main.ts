/**
 * The browser demo: the device SDK (head + exits in onnxruntime-web, the codec, the policy, the
 * WebSocket transport) running in this page against the edge that served it. The edge's demo
 * mode offers one shaping proxy per link profile (`/v1/demo`); picking a link reconnects the
 * device through it (`offline`: the link is down). "Take the edge away" asks the demo server to
 * close every connection and refuse new ones, so pending and later offloads fall back.
 */
import * as ort from 'onnxruntime-web';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { parseIdx } from '../head/datasets/idx.js';
import { createDevice, type Device, type InferResult } from '../head/index.js';
import type { ForcedPolicy, Objective } from '../head/policy.js';
import { DEVICES, deviceProfile } from '../bench/devices.js';
import { LINKS } from '../bench/link/profiles.js';

ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;

interface DemoInfo {
  bundle: { id: string; version: string; bits: number[]; labels: string[] };
  /** Link profile name → WebSocket URL path on this host (':port'). */
  links: Record<string, number>;
  data: { images: string; labels: string };
}

export interface Answer extends InferResult {
  index: number;
  truth: number;
  link: string;
  at: number;
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = (s: string): void => {
  $('status').textContent = s;
};

async function gunzipFetch(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`${url}: ${res.status}`);
  const stream = url.endsWith('.gz') ? res.body.pipeThrough(new DecompressionStream('gzip')) : res.body;
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const info = (await (await fetch('/v1/demo')).json()) as DemoInfo;
const [imageBytes, labelBytes] = await Promise.all([gunzipFetch(info.data.images), gunzipFetch(info.data.labels)]);
const images = parseIdx(imageBytes, 'images');
const labels = parseIdx(labelBytes, 'labels');
const SIZE = images.dims[1]! * images.dims[2]!;
const image = (i: number): Uint8Array => images.data.subarray(i * SIZE, (i + 1) * SIZE);
const names = info.bundle.labels;

const config = { objective: 'latency' as Objective, maxAccuracyLoss: 0.005, bits: 'auto', link: 'loopback', device: 'host', policy: 'adaptive', edgeAway: false };
const answers: Answer[] = [];
let device: Device | undefined;
let deviceReady: Promise<Device> | undefined;
let queue: Promise<unknown> = Promise.resolve();

function edgeUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:${info.links[config.link]}`;
}

/** (Re)creates the device for the current controls; the bundle comes from the browser cache after the first time. */
function rebuild(): Promise<Device> {
  const old = device;
  device = undefined;
  deviceReady = (async () => {
    await old?.close();
    status('fetching the bundle and opening the head in onnxruntime-web…');
    const d = await createDevice({
      bundle: new URL(`/v1/models/${info.bundle.id}/${info.bundle.version}/`, location.href).href,
      edge: edgeUrl(),
      backend: 'onnxruntime-web',
      deadlineMs: 1000,
      // The device model scales this browser's measured compute (a slower phone or board), and the
      // link's radio prices the energy.
      profile: deviceProfile(DEVICES[config.device]!, LINKS[config.link]?.radio ?? 'wifi'),
      policy: {
        objective: config.objective, maxAccuracyLoss: config.maxAccuracyLoss,
        ...(config.bits === 'auto' ? {} : { bits: Number(config.bits) }),
        ...(config.policy === 'adaptive' ? {} : { force: config.policy as ForcedPolicy }),
      },
    });
    device = d;
    showStatus();
    return d;
  })();
  return deviceReady;
}

function showStatus(): void {
  const d = device;
  status(`${info.bundle.id} ${info.bundle.version} · ${config.policy} on ${config.device} · link ${config.link}${config.edgeAway ? ' · edge taken away' : ''} · ${d?.connected ? 'connected to the edge' : 'edge not reachable: answering on the device'}`);
}
setInterval(showStatus, 1000);

/** Takes the edge away (the server closes every connection and refuses new ones) or brings it back. */
async function setEdgeAway(away: boolean): Promise<void> {
  config.edgeAway = away;
  $('edge-toggle').textContent = away ? 'bring the edge back' : 'take the edge away';
  await fetch(`/v1/demo/edge?away=${away}`, { method: 'POST' });
  showStatus();
}

const pathClass = (p: string): string => (p.startsWith('exit') ? 'exit' : p);

/** Runs images in order through the device (one at a time, like a camera feed). */
function run(indices: number[]): Promise<Answer[]> {
  const job = queue.then(async () => {
    const d = await deviceReady!;
    const out: Answer[] = [];
    for (const index of indices) {
      const r = await d.infer(Uint8Array.from(image(index)));
      const a: Answer = { ...r, index, truth: labels.data[index]!, link: config.edgeAway ? 'edge away' : config.link, at: performance.now() };
      answers.push(a);
      out.push(a);
      document.querySelector(`#gallery canvas[data-i="${index}"]`)?.setAttribute('class', pathClass(r.path));
      if (out.length % 5 === 0 || out.length === indices.length) render();
    }
    return out;
  });
  queue = job.catch(() => undefined);
  return job;
}

// ---- rendering ----------------------------------------------------------------------------
function gallery(n: number): void {
  const root = $('gallery');
  for (let i = 0; i < n; i++) {
    const c = document.createElement('canvas');
    c.width = images.dims[2]!;
    c.height = images.dims[1]!;
    c.dataset.i = String(i);
    c.title = names[labels.data[i]!] ?? '';
    const ctx = c.getContext('2d')!;
    const img = ctx.createImageData(c.width, c.height);
    image(i).forEach((v, j) => img.data.set([v, v, v, 255], j * 4));
    ctx.putImageData(img, 0, 0);
    c.addEventListener('click', () => void run([i]));
    root.appendChild(c);
  }
}

const views = new Map<string, View>();
async function chart(id: string, spec: TopLevelSpec, values: object[]): Promise<void> {
  let view = views.get(id);
  if (!view) {
    view = new View(parse(compile({ ...spec, data: { name: 'table' } }).spec), { renderer: 'svg', container: `#${id}`, hover: true });
    views.set(id, view);
  }
  view.data('table', values);
  await view.runAsync();
}

const COLORS = { domain: ['exit:0', 'edge', 'local', 'fallback'], range: ['#2a9d3a', '#2563eb', '#d97706', '#dc2626'] };

function render(): void {
  const recent = answers.slice(-15).reverse();
  const f = (x: number): string => x.toFixed(2);
  $('answers').querySelector('tbody')!.innerHTML = recent.map((a) => `<tr><td>${a.index}</td><td>${names[a.truth]}</td><td class="${a.label === a.truth ? '' : 'wrong'}">${names[a.label]}</td><td><span class="path ${pathClass(a.path)}">${a.path}${a.reason ? ` (${a.reason})` : ''}</span></td><td>${a.bits ?? ''}</td><td>${a.bytesUp}</td><td>${f(a.timings.head)}</td><td>${f(a.timings.encode)}</td><td>${f(a.timings.network)}</td><td>${f(a.timings.server.queue)}/${f(a.timings.server.compute)}</td><td>${f(a.timings.total)}</td></tr>`).join('');
  const byPath = new Map<string, number>();
  for (const a of answers) byPath.set(a.path, (byPath.get(a.path) ?? 0) + 1);
  const correct = answers.filter((a) => a.label === a.truth).length;
  $('summary').textContent = `${answers.length} answers · accuracy ${((correct / Math.max(1, answers.length)) * 100).toFixed(1)}% · ${[...byPath].map(([p, n]) => `${p} ${((n / answers.length) * 100).toFixed(0)}%`).join(', ')}`;
  const rows = answers.map((a, i) => ({ n: i + 1, path: a.path, latency: a.timings.total, bytes: a.bytesUp }));
  void chart('chart-latency', { width: 380, height: 180, title: 'latency per answer (ms)', mark: { type: 'point', filled: true }, encoding: { x: { field: 'n', type: 'quantitative', title: 'answer #' }, y: { field: 'latency', type: 'quantitative', scale: { type: 'symlog' }, title: 'ms' }, color: { field: 'path', type: 'nominal', scale: COLORS } } } as TopLevelSpec, rows);
  void chart('chart-paths', { width: 220, height: 180, title: 'answers by path', mark: 'bar', encoding: { x: { field: 'path', type: 'nominal', title: null }, y: { aggregate: 'count', type: 'quantitative', title: 'answers' }, color: { field: 'path', type: 'nominal', scale: COLORS, legend: null } } } as TopLevelSpec, rows);
  void chart('chart-bytes', { width: 380, height: 180, title: 'bytes up per answer', mark: { type: 'bar' }, encoding: { x: { field: 'n', type: 'ordinal', title: 'answer #', axis: null }, y: { field: 'bytes', type: 'quantitative', title: 'bytes' }, color: { field: 'path', type: 'nominal', scale: COLORS, legend: null } } } as TopLevelSpec, rows);
}

// ---- controls -----------------------------------------------------------------------------
for (const d of Object.keys(DEVICES)) $('device').insertAdjacentHTML('beforeend', `<option>${d}</option>`);
for (const b of info.bundle.bits) $('bits').insertAdjacentHTML('beforeend', `<option value="${b}">${b}</option>`);
for (const l of Object.keys(info.links)) $('link').insertAdjacentHTML('beforeend', `<option>${l}</option>`);
const onChange = (id: string, set: (v: string) => void): void => $(id).addEventListener('change', (e) => {
  set((e.target as HTMLInputElement).value);
  void rebuild();
});
onChange('objective', (v) => { config.objective = v as Objective; });
onChange('loss', (v) => { config.maxAccuracyLoss = Number(v); });
onChange('bits', (v) => { config.bits = v; });
onChange('link', (v) => { config.link = v; });
onChange('device', (v) => { config.device = v; });
onChange('policy', (v) => { config.policy = v; });
$('edge-toggle').addEventListener('click', () => void setEdgeAway(!config.edgeAway));
let next = 0;
$('run').addEventListener('click', () => {
  const n = Number($<HTMLInputElement>('batch-n').value);
  const start = next;
  next = (next + n) % images.dims[0]!;
  void run(Array.from({ length: n }, (_, k) => (start + k) % images.dims[0]!));
});

gallery(48);
await rebuild();

/** For scripted runs (the browser tests): everything the controls do. */
Object.assign(window, {
  offramp: {
    run,
    answers,
    /** Sets any of the controls (link, device, policy, objective, …) and reconnects. */
    async configure(c: Partial<typeof config>) {
      Object.assign(config, c);
      for (const k of ['link', 'device', 'policy', 'objective', 'bits'] as const) $<HTMLSelectElement>(k).value = String(config[k]);
      const d = await rebuild();
      if (!config.edgeAway) await d.whenConnected(5000);
      return d.connected;
    },
    async setEdgeAway(away: boolean) {
      await setEdgeAway(away);
      const d = await deviceReady!;
      if (!away) await d.whenConnected(10_000);
      return d.connected;
    },
    ready: true,
  },
});
