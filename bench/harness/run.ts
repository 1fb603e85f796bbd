/**
 * `offramp bench`: every strategy on the same samples, over emulated links (real sockets through
 * the shaping proxy to a real edge server), for measured and modelled devices.
 *
 * What is measured and what is modelled:
 * - measured on this host: compute times, latency, bytes on the wire (counted at the proxy:
 *   WebSocket + protocol bytes, handshake and pings included), accuracy, paths;
 * - modelled: every energy figure (power × time, with the radio model of Huang et al.), and for
 *   devices other than `host` the compute part of latency (measured × the device's slow-down).
 *
 * Strategies `local`, `offload`, `split` and `split-exit` decide the same way on every device, so
 * they run once per link on this host and are scaled per device; `adaptive` (objective latency)
 * and `adaptive:energy` run per device, because their decisions depend on it. `oracle` is, per
 * link and device, the best of `local`/`offload`/`split`/`split-exit` in hindsight, separately for
 * latency and for energy.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createDevice, type Device, type InferResult } from '../../head/index.js';
import type { Objective, PolicyOptions } from '../../head/policy.js';
import { radioActiveEnergyJ, RADIOS } from '../../head/policy.js';
import { loadBundle } from '../../protocol/bundle.js';
import type { Manifest } from '../../protocol/manifest.js';
import { createEdgeServer } from '../../tail/index.js';
import { loadFashionMnistTest, imageAt } from '../../head/datasets/fashion-mnist.js';
import { seededSamples } from '../../head/datasets/synthetic.js';
import { deviceProfile, type NamedDevice } from '../devices.js';
import { defaultBits } from '../eval.js';
import { configuredLink, measureLink, type LinkFidelity } from '../link/fidelity.js';
import type { NamedLink } from '../link/profiles.js';
import { createLinkProxy } from '../link/proxy.js';
import { percentile } from '../stats.js';

export const STRATEGIES = ['local', 'offload', 'split', 'split-exit', 'adaptive', 'adaptive:energy', 'oracle'] as const;
export type Strategy = (typeof STRATEGIES)[number];
const BASELINES = ['local', 'offload', 'split', 'split-exit'] as const;

export interface BenchOptions {
  bundles: string[];
  links: NamedLink[];
  devices: NamedDevice[];
  /** Samples per configuration (Fashion-MNIST bundles: the first N test images). */
  samples: number;
  /** Samples for timing-only bundles (no dataset; deterministic synthetic inputs). */
  timingSamples?: number;
  /** Untimed requests per device before measuring (link estimate, warm sessions). */
  warmup?: number;
  /**
   * Devices run side by side, each on its own emulated link (the proxy shapes per connection).
   * 'auto': chunk by chunk, as many as keep their summed CPU time to {@link AUTO_CPU_SHARE} of a
   * core, judged from the chunk before (runs that wait on the link get many, compute-bound runs one).
   */
  parallel?: number | 'auto';
  /** Samples each run measures with one device before the others join (the serial pilot), default 50. */
  pilot?: number;
  /** Every infer()'s deadline, ms. */
  deadlineMs?: number;
  /** Add the LTE tail energy per offloaded inference (Huang et al.: the radio stays up after a transfer). */
  lteTailJ?: number;
  /** Called as configurations finish: done and total sample runs, and what ran. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** What each figure is: measured on this host, or modelled. */
export interface Provenance {
  accuracy: 'measured';
  bytes: 'measured';
  latency: 'measured' | 'modelled';
  energy: 'modelled';
}

export interface BenchRow {
  bundle: string;
  link: string;
  device: string;
  strategy: Strategy;
  samples: number;
  /** null for timing-only bundles (no accuracy claims). */
  accuracy: number | null;
  exitRate: number;
  /** Mean per inference, counted at the proxy (WebSocket + protocol bytes). */
  bytesUp: number;
  bytesDown: number;
  /** Mean payload bytes the device put in its requests (SDK count), per inference. */
  frameBytesUp: number;
  latencyMsMean: number;
  latencyMsP50: number;
  latencyMsP95: number;
  latencyMsP99: number;
  energyJ: number;
  paths: Record<string, number>;
  fallbacks: Record<string, number>;
  /** Bit widths used by offloaded requests. */
  bits: Record<string, number>;
  measured: Provenance;
  /** For 'oracle': which strategy was best for latency and for energy. */
  oracleOf?: { latency: string; energy: string };
  /** Most devices that ran side by side after the pilot. */
  lanes: number;
  /** Mean latency of the serial pilot (one device alone on the host), to compare with latencyMsMean. */
  pilotSamples: number;
  pilotLatencyMsMean: number;
}

/** One point of the rate–accuracy curve: a bundle at a bit width (or full offload), bytes measured at the proxy. */
export interface RatePoint {
  bundle: string;
  /** 'split' at `bits`, or 'offload' (the raw input). */
  kind: 'split' | 'offload';
  bits: number;
  samples: number;
  accuracy: number | null;
  bytesUp: number;
}

export interface BenchResult {
  rows: BenchRow[];
  /** Accuracy against bytes on the wire for every bit width of every bundle, on the first link. */
  rateAccuracy: RatePoint[];
  links: (LinkFidelity & { source: string; radio: string })[];
  devices: NamedDevice[];
  radios: typeof RADIOS;
  bundles: { id: string; dir: string; timingOnly: boolean; bits: number; threshold: number | null; splitAccuracy: Record<string, number> | null }[];
  seconds: number;
}

/** One inference, as the report needs it. */
interface Sample {
  correct: boolean | null;
  path: string;
  reason?: string;
  bits?: number;
  frameBytesUp: number;
  totalMs: number;
  computeMs: number;
  /** Time the radio was busy for this inference (request out to answer or failure), ms. */
  radioMs: number;
  /** This host's CPU time the inference cost, estimated: device compute, plus {@link CROSSING_CPU_MS} when it crossed the link. */
  cpuMs: number;
}

interface Measured {
  samples: Sample[];
  wireUp: number;
  wireDown: number;
  lanes: number;
  /** The first `pilot` samples ran on one device alone. */
  pilot: number;
}

/** Share of one core that `--parallel auto` lets the devices of a run keep busy together. */
export const AUTO_CPU_SHARE = 0.5;
/**
 * CPU time of one request across the link besides the device's compute: sockets, proxy, decode
 * and the tail (a fixed estimate: the server's reported compute is a whole batch's, and grows
 * with the devices side by side, which would make the sizing chase its own tail).
 */
export const CROSSING_CPU_MS = 2;
/** Most devices side by side under `--parallel auto`. */
export const AUTO_MAX_LANES = 16;

/** Devices side by side for a run whose serial pilot took `latencyMs` and `cpuMs` per inference (means). */
export function autoLanes(latencyMs: number, cpuMs: number, max = AUTO_MAX_LANES): number {
  if (!(cpuMs > 0) || !(latencyMs > 0)) return 1;
  return Math.max(1, Math.min(max, Math.floor((AUTO_CPU_SHARE * latencyMs) / cpuMs)));
}

/** Energy of one inference on `device` with `radio`: compute × slow-down, plus the radio's while it was busy. */
function energyOf(s: Sample, device: NamedDevice, radio: (typeof RADIOS)[keyof typeof RADIOS], lteTailJ: number): number {
  const computeJ = (device.computePowerW * s.computeMs * device.slowdown) / 1000;
  if (s.radioMs <= 0) return computeJ;
  return computeJ + radioActiveEnergyJ(radio, s.frameBytesUp, s.radioMs / 1000) + lteTailJ;
}

function summarize(bundle: string, link: NamedLink, device: NamedDevice, strategy: Strategy, m: Measured, lteTailJ: number): BenchRow {
  const n = m.samples.length;
  const radio = RADIOS[link.radio];
  const latencyOf = (s: Sample): number => s.totalMs + (device.slowdown - 1) * s.computeMs;
  const latency = m.samples.map(latencyOf).sort((a, b) => a - b);
  const pilot = m.samples.slice(0, m.pilot);
  const count = (key: (s: Sample) => string | undefined): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const s of m.samples) {
      const k = key(s);
      if (k !== undefined) out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };
  const scored = m.samples.filter((s) => s.correct !== null);
  return {
    bundle, link: link.profile.name, device: device.name, strategy, samples: n,
    accuracy: scored.length ? scored.filter((s) => s.correct).length / scored.length : null,
    exitRate: m.samples.filter((s) => s.path.startsWith('exit:')).length / n,
    bytesUp: m.wireUp / n,
    bytesDown: m.wireDown / n,
    frameBytesUp: m.samples.reduce((a, s) => a + s.frameBytesUp, 0) / n,
    latencyMsMean: latency.reduce((a, b) => a + b, 0) / n,
    latencyMsP50: percentile(latency, 50),
    latencyMsP95: percentile(latency, 95),
    latencyMsP99: percentile(latency, 99),
    energyJ: m.samples.reduce((a, s) => a + energyOf(s, device, radio, lteTailJ), 0) / n,
    paths: count((s) => s.path),
    fallbacks: count((s) => s.reason),
    bits: count((s) => (s.bits === undefined ? undefined : String(s.bits))),
    measured: { accuracy: 'measured', bytes: 'measured', latency: device.slowdown === 1 ? 'measured' : 'modelled', energy: 'modelled' },
    lanes: m.lanes,
    pilotSamples: pilot.length,
    pilotLatencyMsMean: pilot.length ? pilot.reduce((a, s) => a + latencyOf(s), 0) / pilot.length : NaN,
  };
}


/** Runs every configuration. */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const t0 = performance.now();
  const auto = o.parallel === 'auto';
  const parallel = auto ? AUTO_MAX_LANES : Math.max(1, Number(o.parallel ?? 4));
  const pilotN = o.pilot ?? 50;
  const warmup = o.warmup ?? 10;
  const deadlineMs = o.deadlineMs ?? 10_000;
  const lteTailJ = o.lteTailJ ?? 0;
  const data = await loadFashionMnistTest();
  const bundles = await Promise.all(o.bundles.map(async (dir) => ({ dir, manifest: (await loadBundle(dir, { checkGraphs: false })).manifest })));
  const inputsOf = (m: Manifest): { inputs: Uint8Array[]; labels: (number | null)[] } => {
    if (!m.timingOnly && m.input.shape.join('x') === `1x${data.height}x${data.width}`) {
      const n = Math.min(o.samples, data.count);
      return { inputs: Array.from({ length: n }, (_, i) => imageAt(data, i)), labels: Array.from(data.labels.subarray(0, n)) };
    }
    const n = o.timingSamples ?? Math.min(o.samples, 30);
    return { inputs: seededSamples(m.input.shape.reduce((a, b) => a * b, 1), n), labels: new Array<null>(n).fill(null) };
  };
  const work = bundles.map((b) => ({ ...b, ...inputsOf(b.manifest) }));
  const perLink = work.reduce((a, b) => a + b.inputs.length * (3 + 2 * o.devices.length), 0);
  const rateRuns = work.reduce((a, b) => a + b.inputs.length * (b.manifest.bottleneck.bits.length - 1), 0);
  const total = work.reduce((a, b) => a + b.inputs.length, 0) + perLink * o.links.length + rateRuns;
  let done = 0;
  const progress = (label: string): void => o.onProgress?.(done, total, label);

  const models = await mkdtemp(join(tmpdir(), 'offramp-bench-'));
  for (const b of work) await cp(b.dir, join(models, basename(b.dir)), { recursive: true });
  const edge = await createEdgeServer({ models, port: 0, workers: 1 });
  const edgePort = Number(new URL(edge.url).port);
  const rows: BenchRow[] = [];
  const rateAccuracy: RatePoint[] = [];
  const links: BenchResult['links'] = [];
  try {
    /** Runs `inputs` through `parallel` devices (each its own connection), after a warm-up. */
    const measure = async (dir: string, inputs: Uint8Array[], labels: (number | null)[], policy: Partial<PolicyOptions>, device: NamedDevice, link: NamedLink, proxy: Awaited<ReturnType<typeof createLinkProxy>> | undefined, label: string): Promise<Measured> => {
      const reachable = proxy !== undefined && (link.profile.outages ?? []).length === 0;
      const make = (): Promise<Device> => createDevice({
        bundle: dir, policy, deadlineMs, profile: deviceProfile(device, link.radio),
        ...(proxy ? { edge: `ws://127.0.0.1:${proxy.port}` } : {}),
      });
      const warm = async (d: Device): Promise<void> => {
        if (reachable) await d.whenConnected(Math.max(2000, deadlineMs));
        for (let i = 0; i < warmup; i++) await d.infer(inputs[i % inputs.length]!);
      };
      const bytes = (): { up: number; down: number } => proxy?.bytes() ?? { up: 0, down: 0 };
      const devices: Device[] = [];
      try {
        devices.push(await make());
        await warm(devices[0]!);
        const before = bytes();
        const samples = new Array<Sample>(inputs.length);
        let next = 0;
        const lane = async (d: Device, until: number): Promise<void> => {
          while (next < until) {
            const i = next++;
            const r: InferResult = await d.infer(inputs[i]!);
            const computeMs = r.timings.head + r.timings.encode + r.timings.local;
            const crossed = r.bytesUp > 0;
            samples[i] = {
              correct: labels[i] === null ? null : r.label === labels[i], path: r.path, reason: r.reason, bits: r.bits,
              frameBytesUp: r.bytesUp, totalMs: r.timings.total, computeMs, radioMs: crossed ? Math.max(0, r.timings.total - computeMs) : 0,
              cpuMs: computeMs + (crossed ? CROSSING_CPU_MS : 0),
            };
            done++;
            if (done % 10 === 0) progress(label);
          }
        };
        // The serial pilot: one device alone, the figure the side-by-side rest is compared with.
        const pilot = Math.min(pilotN, inputs.length);
        await lane(devices[0]!, pilot);
        // Then chunks: each sizes the next from its own means (under 'auto'), as the adaptive
        // policy may change its mind mid-run (e.g. from local answers to offloads). Devices that
        // join warm up first; their warm-up bytes are not the run's.
        let excluded = { up: 0, down: 0 };
        let lanes = 1;
        let from = 0;
        while (next < inputs.length) {
          const recent = samples.slice(from, next);
          const mean = (f: (s: Sample) => number): number => recent.reduce((a, s) => a + f(s), 0) / Math.max(1, recent.length);
          const want = auto ? autoLanes(mean((s) => s.totalMs), mean((s) => s.cpuMs)) : parallel;
          if (want > devices.length) {
            const joining = bytes();
            const more = await Promise.all(Array.from({ length: want - devices.length }, make));
            devices.push(...more);
            await Promise.all(more.map(warm));
            const joined = bytes();
            excluded = { up: excluded.up + joined.up - joining.up, down: excluded.down + joined.down - joining.down };
          }
          from = next;
          const until = Math.min(inputs.length, next + Math.max(pilotN, want * 25));
          await Promise.all(devices.slice(0, want).map((d) => lane(d, until)));
          lanes = Math.max(lanes, want);
        }
        const end = bytes();
        return { samples, wireUp: end.up - before.up - excluded.up, wireDown: end.down - before.down - excluded.down, lanes, pilot };
      } finally {
        await Promise.all(devices.map((d) => d.close()));
      }
    };

    const host: NamedDevice = { name: 'host', slowdown: 1, computePowerW: 0, source: '' };
    // `local` does not touch the link: measure it once per bundle, report it on every link.
    const localRuns = new Map<string, Measured>();
    for (const b of work) localRuns.set(b.dir, await measure(b.dir, b.inputs, b.labels, { force: 'always-local' }, host, o.links[0]!, undefined, `${b.manifest.id} local`));

    for (const link of o.links) {
      const outage = (link.profile.outages ?? []).length > 0;
      const fidelity = outage ? { link: link.profile.name, configured: configuredLink(link.profile), measured: { upMbps: NaN, downMbps: NaN, rttMs: NaN, rttMedianMs: NaN }, ok: true } : await measureLink(link.profile);
      links.push({ ...fidelity, source: link.source, radio: RADIOS[link.radio].name });
      const proxy = await createLinkProxy({ host: '127.0.0.1', port: edgePort }, link.profile);
      try {
        for (const b of work) {
          const m = b.manifest;
          const bits = defaultBits(m);
          const base: Record<(typeof BASELINES)[number], Measured> = {
            local: localRuns.get(b.dir)!,
            offload: await measure(b.dir, b.inputs, b.labels, { force: 'full-offload' }, host, link, proxy, `${m.id} ${link.profile.name} offload`),
            split: await measure(b.dir, b.inputs, b.labels, { force: 'always-offload', bits }, host, link, proxy, `${m.id} ${link.profile.name} split`),
            'split-exit': await measure(b.dir, b.inputs, b.labels, { force: 'exit-then-offload', bits }, host, link, proxy, `${m.id} ${link.profile.name} split-exit`),
          };
          if (link === o.links[0]) {
            const point = (kind: RatePoint['kind'], w: number, r: Measured): RatePoint => {
              const row = summarize(m.id, link, host, 'split', r, 0);
              return { bundle: m.id, kind, bits: w, samples: row.samples, accuracy: row.accuracy, bytesUp: row.bytesUp };
            };
            rateAccuracy.push(point('offload', 8, base.offload), point('split', bits, base.split));
            for (const w of m.bottleneck.bits.filter((x) => x !== bits)) {
              rateAccuracy.push(point('split', w, await measure(b.dir, b.inputs, b.labels, { force: 'always-offload', bits: w }, host, link, proxy, `${m.id} ${link.profile.name} split@${w}`)));
            }
          }
          for (const device of o.devices) {
            const baseRows = BASELINES.map((s) => summarize(m.id, link, device, s, base[s], lteTailJ));
            rows.push(...baseRows);
            for (const [strategy, objective] of [['adaptive', 'latency'], ['adaptive:energy', 'energy']] as [Strategy, Objective][]) {
              const run = await measure(b.dir, b.inputs, b.labels, { objective }, device, link, proxy, `${m.id} ${link.profile.name} ${device.name} ${strategy}`);
              rows.push(summarize(m.id, link, device, strategy, run, lteTailJ));
            }
            const bestLatency = baseRows.reduce((a, r) => (r.latencyMsMean < a.latencyMsMean ? r : a));
            const bestEnergy = baseRows.reduce((a, r) => (r.energyJ < a.energyJ ? r : a));
            rows.push({ ...bestLatency, strategy: 'oracle', energyJ: bestEnergy.energyJ, oracleOf: { latency: bestLatency.strategy, energy: bestEnergy.strategy } });
          }
        }
      } finally {
        await proxy.close();
      }
    }
  } finally {
    await edge.close();
    await rm(models, { recursive: true, force: true });
  }
  return {
    rows, rateAccuracy, links, devices: o.devices, radios: RADIOS,
    bundles: work.map((b) => {
      const m = b.manifest;
      return { id: m.id, dir: b.dir, timingOnly: Boolean(m.timingOnly), bits: defaultBits(m), threshold: m.exits[0]?.recommendedThreshold ?? null, splitAccuracy: m.bottleneck.accuracy ?? null };
    }),
    seconds: (performance.now() - t0) / 1000,
  };
}
