/**
 * The browser demo: the device SDK runs in a worker (web/device-worker.ts) against the edge that
 * served this page; the page sets it up, sends it images and shows what it did. The edge's demo
 * mode offers one shaping proxy per link profile (`/v1/demo`); picking a link reconnects the
 * device through it (`offline`: the link is down). "Take the edge away" asks the demo server to
 * close every connection and refuse new ones, so offloads fall back.
 */
import data from 'virtual:demo-data';
import { parseIdx } from '../head/datasets/idx.js';
import type { InferResult } from '../head/device.js';
import { DEVICE_CLASSES } from '../head/devices.js';
import type { ForcedPolicy, Objective } from '../head/policy.js';
import type { Manifest } from '../protocol/manifest.js';
import { DeviceClient, type Configured, type Job } from './device-client.js';
import { fetchBytes } from './fetch-bytes.js';
import { esc, ms, pct } from './format.js';
import type { DemoInfo, DeviceSettings } from './messages.js';
import { drawable, imageFromFile, toModelInput } from './own-input.js';
import { expectedWay, exitPreview, suggestDefaults } from './preview.js';
import { kindOf, summarize, type Answer, type Summary } from './summary.js';
import { bytesNote, chartsHtml, detailHtml, runsRows, type Run } from './view.js';

declare global {
  /** The device worker, started by index.html (web/build-plugins.ts). */
  var offrampWorker: Worker | undefined;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const POLICIES = ['adaptive', 'exit-then-offload', 'always-offload', 'full-offload', 'always-local'] as const;
const POLICY_NAMES: Record<string, string> = {
  adaptive: 'adaptive',
  'exit-then-offload': 'exit, then offload',
  'always-offload': 'always offload',
  'full-offload': 'full offload',
  'always-local': 'always local',
};

// ---- loading: the runtime and the bundle in the worker, the images here, one progress bar ----
const client = new DeviceClient(globalThis.offrampWorker);
const progress = {
  runtime: { loaded: 0, total: __ORT_WASM_BYTES__ },
  model: { loaded: 0, total: 0 },
  images: { loaded: 0, total: data.images.bytes + data.labels.bytes },
};
let progressFrame = 0;
function showProgress(): void {
  progressFrame ||= requestAnimationFrame(drawProgress);
}
function drawProgress(): void {
  progressFrame = 0;
  const parts = Object.values(progress);
  const loaded = parts.reduce((s, p) => s + p.loaded, 0);
  const total = parts.reduce((s, p) => s + Math.max(p.total, p.loaded), 0);
  $('progress-bar').style.width = `${((loaded / total) * 100).toFixed(1)}%`;
  $('progress-text').textContent =
    `loading the runtime, the model and the test images: ${(loaded / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB (before compression)`;
}
client.onProgress = (p) => {
  progress[p.part] = { loaded: p.loaded, total: p.total };
  showProgress();
};
showProgress();
const info = (await (await fetch('/v1/demo')).json()) as DemoInfo;
const bundleUrl = new URL(`/v1/models/${encodeURIComponent(info.bundle.id)}/${encodeURIComponent(info.bundle.version)}/`, location.href).href;
const fetchData = (url: string): Promise<Uint8Array> =>
  fetchBytes(url, (n) => {
    progress.images.loaded += n;
    showProgress();
  });
const [manifest, imageBytes, labelBytes] = await Promise.all([client.load(bundleUrl), fetchData(data.images.url), fetchData(data.labels.url)]);
performance.mark('offramp:loaded');
const images = parseIdx(imageBytes, 'test images');
const truths = parseIdx(labelBytes, 'test labels').data;
const [H, W] = [images.dims[1]!, images.dims[2]!];
const imageAt = (i: number): Uint8Array => images.data.slice(i * H * W, (i + 1) * H * W);
const labels = manifest.labels;

// ---- settings and the device ----------------------------------------------------------------
interface Settings {
  device: string;
  link: string;
  objective: Objective;
  budgetPct: number;
  rate: string;
  policy: string;
}
const budgetDefault = 0.5;
const suggested = suggestDefaults(manifest, info.links, budgetDefault / 100);
const settings: Settings = { device: suggested.device, link: suggested.link, objective: 'latency', budgetPct: budgetDefault, rate: 'auto', policy: 'adaptive' };
let edgeAway = false;

function deviceSettings(policy: string): DeviceSettings {
  const l = info.links[settings.link]!;
  return {
    edge: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:${l.port}`,
    device: settings.device,
    radio: l.radio,
    policy: {
      objective: settings.objective,
      maxAccuracyLoss: settings.budgetPct / 100,
      ...(settings.rate === 'auto' ? {} : { ratePoint: Number(settings.rate) }),
      ...(policy === 'adaptive' ? {} : { force: policy as ForcedPolicy }),
    },
  };
}

let requested = '';
let configured: Promise<Configured> = Promise.resolve({ outcome: 'superseded', connected: false });
/** Makes the worker's device match the settings with `policy` (a no-op when it already does). */
function ensure(policy: string): Promise<Configured> {
  const s = deviceSettings(policy);
  const key = JSON.stringify(s);
  if (key !== requested) {
    requested = key;
    configured = client.configure(s);
  }
  return configured;
}
/** Resolves once the newest configure has finished (however many came while waiting). */
async function settled(): Promise<Configured> {
  for (;;) {
    const p = configured;
    const c = await p;
    if (p === configured) return c;
  }
}

// ---- activities: one at a time; a settings change cancels what runs --------------------------
interface Token {
  cancelled: boolean;
  job?: Job;
}
const live = new Set<Token>();
let chain: Promise<unknown> = Promise.resolve();
function activity<T>(fn: (t: Token) => Promise<T>): Promise<T | undefined> {
  const t: Token = { cancelled: false };
  live.add(t);
  const p = chain
    .then(() => (t.cancelled ? undefined : fn(t)))
    .finally(() => {
      live.delete(t);
      busy();
    });
  chain = p.catch(() => undefined);
  busy();
  return p;
}
function cancelAll(): void {
  for (const t of live) {
    t.cancelled = true;
    t.job?.cancel();
  }
}
function busy(): void {
  $('compare-all').textContent = live.size ? 'stop' : 'compare all policies';
  $('run-one').toggleAttribute('disabled', live.size > 0);
}

// ---- runs -----------------------------------------------------------------------------------
const runs: Run[] = [];
const lastKind = new Map<number, string>();
let frame = 0;
/** Redraws the table, the charts and the gallery's borders: at the next frame, or `now`. */
function render(now = false): void {
  if (frame && !now) return;
  cancelAnimationFrame(frame);
  const draw = (): void => {
    frame = 0;
    $('runs').querySelector('tbody')!.innerHTML = runsRows(runs);
    $('charts').innerHTML = chartsHtml(runs);
    $('bytes-note').innerHTML = bytesNote(runs);
    for (const c of $('gallery').querySelectorAll<HTMLCanvasElement>('canvas'))
      c.className = lastKind.has(Number(c.dataset.i)) ? `k-${lastKind.get(Number(c.dataset.i))}` : '';
  };
  if (now) draw();
  else frame = requestAnimationFrame(draw);
}

function describe(): string {
  return `${settings.device} · ${settings.link}${edgeAway ? ' (edge away)' : ''} · ${$<HTMLSelectElement>('objective').selectedOptions[0]?.text ?? settings.objective} · budget ${settings.budgetPct}%${settings.rate === 'auto' ? '' : ` · rate point ${manifest.bottleneck.ratePoints[Number(settings.rate)]?.id}`}`;
}

/**
 * The device opens without waiting for the edge's handshake (the page is usable sooner), so work
 * waits for the connection first: up to 3 s, not at all when the edge is away or the link is
 * offline. Resolves whether it is connected.
 */
function connected(): Promise<boolean> {
  return client.whenConnection(true, edgeAway || settings.link === 'offline' ? 0 : 3000);
}

/** The device for `policy`, connected when it can be (see `connected`). */
async function ready(policy: string): Promise<Configured> {
  const c = await ensure(policy);
  if (c.outcome === 'ready') await connected();
  return c;
}

/** Runs images 0 … n−1 through each policy in turn, one table row each. */
function runPolicies(policies: readonly string[], indices: number[]): Promise<Run[] | undefined> {
  return activity(async (t) => {
    const done: Run[] = [];
    for (const policy of policies) {
      const c = await ready(policy);
      if (t.cancelled || c.outcome !== 'ready') break;
      const run: Run = { policy, label: POLICY_NAMES[policy] ?? policy, setting: describe(), total: indices.length, answers: [] };
      runs.push(run);
      t.job = client.infer(indices.map(imageAt), 0, (k, result) => {
        const index = indices[k]!;
        run.answers.push({ index, truth: truths[index]!, result });
        lastKind.set(index, kindOf(result));
        render();
      });
      const end = await t.job.done;
      if (end.cancelled || end.error) {
        // A run cut short would compare badly with the others: drop it.
        runs.splice(runs.indexOf(run), 1);
        if (end.error) status(`the run failed: ${end.error}`);
        break;
      }
      done.push(run);
    }
    render(true);
    return done;
  });
}

/** Answers one image with the current settings and shows it up close. */
function inspect(pixels: Uint8Array, truth: number | undefined, note: string): Promise<InferResult | undefined> {
  return activity(async (t) => {
    await ready(settings.policy);
    let result: InferResult | undefined;
    t.job = client.infer([pixels], Math.min(5, labels.length), (_, r) => (result = r));
    await t.job.done;
    if (result) $('detail').innerHTML = detailHtml(result, labels, truth, note);
    return result;
  });
}

// ---- controls and explanations --------------------------------------------------------------
function status(extra = ''): void {
  const c = client.connection;
  const conn = edgeAway
    ? 'the edge is away: offloads fall back'
    : c.connected
      ? `connected to the edge through the ${settings.link} link`
      : settings.link === 'offline'
        ? 'not connected to the edge: offloads fall back'
        : `connecting to the edge through the ${settings.link} link (offloads fall back until connected)`;
  $('status').textContent =
    `${manifest.id} ${manifest.version} · ${conn} · ${c.sockets} WebSocket${c.sockets === 1 ? '' : 's'} open${extra ? ` · ${extra}` : ''}`;
}
client.onConnection = () => status();

function explain(): void {
  const d = DEVICE_CLASSES[settings.device]!;
  $('explain-device').innerHTML =
    `<strong>${esc(settings.device)}</strong>: ${esc(d.name)}; ${d.macsPerSecond ? `compute modelled at ${(d.macsPerSecond / 1e9).toFixed(2)} GMAC/s from the bundle's MAC counts` : 'compute measured in this browser'}, ${d.activeW} W busy / ${d.idleW} W idle.`;
  const l = info.links[settings.link]!;
  $('explain-link').innerHTML =
    `<strong>${esc(settings.link)}</strong>: ${l.rttMs ? `${l.upMbps} Mbit/s up, ${l.downMbps} Mbit/s down, ${l.rttMs} ms round trip; ` : ''}${esc(l.source)}; radio energy as ${esc(l.radio)}.`;
  const ex = exitPreview(manifest, settings.budgetPct / 100);
  $('explain-budget').innerHTML = ex.length
    ? `<strong>accuracy budget ${settings.budgetPct}%</strong>: the exits may cost up to ${settings.budgetPct} percentage points of accuracy against the split model (${pct(ex[0]!.reference)} on validation). ${ex.map((e, i) => `Exit ${i} answers when it is at least ${pct(e.threshold)} sure: on the validation set ${pct(e.exitRate)} of images leave there, for ${pct(e.overallAccuracy)} overall.`).join(' ')} A larger budget lowers the threshold: more exits, fewer bytes, a little less accuracy.`
    : 'This bundle has no early exits.';
  const w = expectedWay(manifest, settings.device, l, settings.budgetPct / 100);
  const WAY: Record<string, string> = {
    split: 'the edge, as features (split)',
    full: 'the edge, as the raw image, without running the head (full offload)',
    local: 'the local model',
  };
  $('explain-policy').innerHTML = w
    ? `<strong>what adaptive should do here</strong> (for the fastest answer): an image the exit does not take costs about ${ms(w.ms.local)} ms on the local model, ${ms(w.ms.split)} ms split (head ${ms(w.ms.head)} ms before that) and ${ms(w.ms.full)} ms as a raw image, so it should go to ${WAY[w.way]}${w.margin < 1.3 ? ', though the margin is thin' : ''}. A way the policy keeps avoiding is tried once in 50 images to re-time it. The fixed policies below show the other ways.`
    : "<strong>what adaptive should do here</strong>: this device's compute is measured in this browser, so the policy decides from what it measures.";
}

const select = (id: string): HTMLSelectElement => $<HTMLSelectElement>(id);
for (const d of Object.keys(DEVICE_CLASSES)) select('device').add(new Option(d, d));
for (const l of Object.keys(info.links)) select('link').add(new Option(l, l));
manifest.bottleneck.ratePoints.forEach((rp, i) =>
  select('rate').add(new Option(`${rp.id} (${rp.codec}${rp.bytes ? `, ~${Math.round(rp.bytes.mean)} B` : ''})`, String(i))),
);
function showSettings(): void {
  select('device').value = settings.device;
  select('link').value = settings.link;
  select('objective').value = settings.objective;
  $<HTMLInputElement>('budget').value = String(settings.budgetPct);
  select('rate').value = settings.rate;
  select('policy').value = settings.policy;
}

/** A control changed: stop what runs and make the device match. */
function changed(): void {
  cancelAll();
  void ensure(settings.policy);
  explain();
  status();
}
const bind = (id: string, set: (v: string) => void): void =>
  $(id).addEventListener('change', (e) => {
    set((e.target as HTMLInputElement).value);
    changed();
  });
bind('device', (v) => (settings.device = v));
bind('link', (v) => (settings.link = v));
bind('objective', (v) => (settings.objective = v as Objective));
bind('budget', (v) => (settings.budgetPct = Math.min(100, Math.max(0, Number(v) || 0))));
bind('rate', (v) => (settings.rate = v));
bind('policy', (v) => (settings.policy = v));

async function setEdgeAway(away: boolean): Promise<void> {
  edgeAway = away;
  $('edge-toggle').textContent = away ? 'bring the edge back' : 'take the edge away';
  await fetch(`/v1/demo/edge?away=${away}`, { method: 'POST' });
  status();
}
$('edge-toggle').addEventListener('click', () => void setEdgeAway(!edgeAway));

const count = (): number => Math.min(Number(select('count').value), images.dims[0]!);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
$('compare-all').addEventListener('click', () => (live.size ? cancelAll() : void runPolicies(POLICIES, range(count()))));
$('run-one').addEventListener('click', () => void runPolicies([settings.policy], range(count())));
$('reset').addEventListener('click', () => {
  cancelAll();
  runs.length = 0;
  lastKind.clear();
  $('detail').innerHTML = '<p class="empty">No image chosen yet.</p>';
  render();
});

function gallery(): void {
  const root = $('gallery');
  root.replaceChildren();
  for (let i = 0; i < count(); i++) {
    const c = document.createElement('canvas');
    c.width = W;
    c.height = H;
    c.dataset.i = String(i);
    c.title = `#${i}: ${labels[truths[i]!] ?? ''}`;
    const ctx = c.getContext('2d')!;
    const img = ctx.createImageData(W, H);
    imageAt(i).forEach((v, j) => img.data.set([v, v, v, 255], j * 4));
    ctx.putImageData(img, 0, 0);
    c.addEventListener('click', () => void inspect(imageAt(i), truths[i], `test image #${i}`));
    root.appendChild(c);
  }
  render();
}
select('count').addEventListener('change', gallery);

const draw = drawable($<HTMLCanvasElement>('draw'), () => undefined);
$('draw-clear').addEventListener('click', () => draw.clear());
$('draw-classify').addEventListener('click', () => void inspect(toModelInput($<HTMLCanvasElement>('draw'), W, H).pixels, undefined, 'your drawing'));
$('upload').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  void imageFromFile(file)
    .then((bitmap) => {
      const { pixels, inverted } = toModelInput(bitmap, W, H);
      // Show what the model gets.
      const c = $<HTMLCanvasElement>('draw');
      const small = new ImageData(W, H);
      pixels.forEach((v, j) => small.data.set([v, v, v, 255], j * 4));
      const tmp = document.createElement('canvas');
      tmp.width = W;
      tmp.height = H;
      tmp.getContext('2d')!.putImageData(small, 0, 0);
      const ctx = c.getContext('2d')!;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tmp, 0, 0, c.width, c.height);
      return inspect(pixels, undefined, `${file.name}${inverted ? ' (inverted: light background)' : ''}`);
    })
    .catch((err: unknown) => status(`cannot read that picture: ${String(err)}`));
});

// ---- start ----------------------------------------------------------------------------------
showSettings();
explain();
gallery();
const first = await ensure(settings.policy);
for (const el of document.querySelectorAll<HTMLInputElement>('#settings :disabled, #compare :disabled, #inspect :disabled')) el.disabled = false;
$('loading').hidden = true;
status(first.outcome === 'failed' ? `the device could not start: ${first.message ?? ''}` : '');
const readyMs = performance.mark('offramp:ready').startTime;

/** Plain answer fields for scripted runs. */
const plain = (a: Answer): Record<string, unknown> => ({
  index: a.index,
  truth: a.truth,
  label: a.result.label,
  path: a.result.path,
  ratePoint: a.result.ratePoint,
  reason: a.result.reason,
  head: a.result.timings.head,
  bytesUp: a.result.bytesUp,
  bytesDown: a.result.bytesDown,
});

/** For scripted runs (the browser tests and the benchmark): what the controls do, awaitable. */
Object.assign(window, {
  offramp: {
    ready: true,
    readyMs,
    manifest: (): Manifest => manifest,
    settings: (): Settings & { edgeAway: boolean } => ({ ...settings, edgeAway }),
    /** Sets controls as a user would and waits until the device matches; resolves whether it is connected. */
    async configure(c: Partial<Settings>): Promise<boolean> {
      Object.assign(settings, c);
      showSettings();
      changed();
      const r = await settled();
      return r.outcome === 'ready' && (await connected());
    },
    settled: async (): Promise<Configured> => settled(),
    /** Every run in the table, answer by answer. */
    runs: () => runs.map((r) => ({ policy: r.policy, setting: r.setting, answers: r.answers.map(plain) })),
    connection: () => ({ ...client.connection }),
    async run(indices: number[], policy = settings.policy): Promise<Record<string, unknown>[]> {
      const done = await runPolicies([policy], indices);
      return (done?.[0]?.answers ?? []).map(plain);
    },
    async compare(n: number): Promise<{ policy: string; summary: Summary }[]> {
      const done = (await runPolicies(POLICIES, range(n))) ?? [];
      return done.map((r) => ({ policy: r.policy, summary: summarize(r.answers) }));
    },
    async setEdgeAway(away: boolean): Promise<boolean> {
      await setEdgeAway(away);
      return client.whenConnection(!away, 10_000);
    },
  },
});
