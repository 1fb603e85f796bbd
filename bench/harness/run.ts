/**
 * `offramp bench`: every strategy on the same samples, over emulated links (real sockets through
 * the shaping proxy to a real edge server), for this host and modelled device classes.
 *
 * What is measured and what is modelled:
 * - measured on this host: accuracy, paths, bytes (the codec's payload per request, and everything
 *   on the socket at the proxy: WebSocket + protocol, per inference), round-trip times;
 * - modelled: every energy figure, and for device classes other than `host` the compute part of
 *   latency (MACs / the class's throughput). Both through head/devices.ts and head/energy.ts, the
 *   code the device's policy and its own reports use.
 *
 * `local`, `offload`, `split` and `split-exit` decide the same way on every device, so they run
 * once per link on this host and each sample is re-modelled per device class; `adaptive`
 * (objective latency) and `adaptive:energy` run per device class, because their decisions depend
 * on it. `oracle` is, per link and device, the best of the four baselines in hindsight,
 * separately for latency and for energy.
 */
import { computeMs, deviceClass, deviceProfile, power, RADIOS, type DeviceClass, type LinkName } from '../../head/devices.js';
import { createDevice, type Device, type InferResult } from '../../head/device.js';
import { inferenceEnergy } from '../../head/energy.js';
import type { Objective, PolicyOptions } from '../../head/policy.js';
import { loadFashionMnistTest, imageAt } from '../../head/datasets/fashion-mnist.js';
import { seededSamples } from '../../head/datasets/synthetic.js';
import type { NamedLink } from '../../link/profiles.js';
import { createLinkProxy, type LinkProxy } from '../../link/proxy.js';
import { loadBundle } from '../../protocol/bundle.js';
import type { Manifest } from '../../protocol/manifest.js';
import { startLocalEdge } from '../../scenario/edge.js';
import { runLanes, type LaneRun } from '../../scenario/lanes.js';
import { configuredLink, measureLink, type LinkFidelity } from '../link/fidelity.js';
import { percentile } from '../stats.js';

export const STRATEGIES = ['local', 'offload', 'split', 'split-exit', 'adaptive', 'adaptive:energy', 'oracle'] as const;
export type Strategy = (typeof STRATEGIES)[number];
const BASELINES = ['local', 'offload', 'split', 'split-exit'] as const;

export interface BenchOptions {
  bundles: string[];
  links: NamedLink[];
  devices: DeviceClass[];
  /** Samples per configuration (Fashion-MNIST bundles: the first N test images). */
  samples: number;
  /** Samples for timing-only bundles (no dataset; deterministic synthetic inputs). */
  timingSamples?: number;
  /** Untimed requests per device before measuring (link estimate, warm sessions). */
  warmup?: number;
  /** Devices side by side, each on its own emulated link, or 'auto' (scenario/lanes.ts). */
  parallel?: number | 'auto';
  /** Samples each run measures with one device before the others join (the serial pilot), default 50. */
  pilot?: number;
  /** Every infer()'s deadline, ms. */
  deadlineMs?: number;
  /** The app starts one inference every this many ms (0: back to back): how long radio tails last. */
  periodMs?: number;
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
  /** Per inference: the codec's output the device sent (payloads only), and everything on the socket each way (at the proxy). */
  payloadBytesUp: number;
  wireBytesUp: number;
  wireBytesDown: number;
  /** Requests that crossed the link, per inference (for framing per request: (wireBytesUp − payloadBytesUp) / requestsPerInference). */
  requestsPerInference: number;
  latencyMsMean: number;
  latencyMsP50: number;
  latencyMsP95: number;
  latencyMsP99: number;
  energyJ: number;
  paths: Record<string, number>;
  fallbacks: Record<string, number>;
  /** Rate points used by offloaded requests ('input' for full offload). */
  ratePoints: Record<string, number>;
  measured: Provenance;
  /** For 'oracle': which strategy was best for latency and for energy. */
  oracleOf?: { latency: string; energy: string };
  /** Most devices that ran side by side after the pilot. */
  lanes: number;
  /** Mean latency of the serial pilot (one device alone on the host), to compare with latencyMsMean. */
  pilotSamples: number;
  pilotLatencyMsMean: number;
}

export interface BenchResult {
  rows: BenchRow[];
  links: (LinkFidelity & { source: string; radio: string })[];
  devices: DeviceClass[];
  radios: typeof RADIOS;
  periodMs: number;
  bundles: { id: string; dir: string; timingOnly: boolean; ratePoint: string; threshold: number | null; splitAccuracy: Record<string, number> | null }[];
  seconds: number;
}

/** One inference as the rows need it, on a given device class. */
interface Modelled {
  correct: boolean | null;
  path: string;
  reason?: string;
  ratePoint?: string;
  payloadBytes: number;
  crossed: boolean;
  latencyMs: number;
  energyJ: number;
}

/** The MACs a device class's compute time is modelled from. */
interface Macs {
  head?: number;
  full?: number;
}

/**
 * A host-measured result as it would be on `device` on `link` (the same functions the SDK uses):
 * compute from MACs (or as measured, for `host`), the round trip as measured, energy re-modelled.
 */
export function remodel(r: InferResult, device: DeviceClass, link: LinkName, periodMs: number, macs: Macs): { latencyMs: number; energyJ: number } {
  const m = r.measured;
  const head = m.head > 0 ? computeMs(device, macs.head, m.head) : 0;
  const local = m.local > 0 ? computeMs(device, macs.full, m.local) : 0;
  const compute = head + m.encode + local;
  const latencyMs = compute + m.busy;
  const e = inferenceEnergy(power(deviceProfile(device.id, link, periodMs)), {
    computeMs: compute,
    totalMs: latencyMs,
    ...(m.busy > 0 ? { transfer: { upBytes: r.bytesUp, downBytes: r.bytesDown, busyMs: m.busy, promoted: false } } : {}),
  });
  return { latencyMs, energyJ: e.totalJ };
}

function summarize(bundle: string, link: NamedLink, device: DeviceClass, strategy: Strategy, run: LaneRun, samples: Modelled[]): BenchRow {
  const n = samples.length;
  const latency = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const pilot = samples.slice(0, run.pilot);
  const count = (key: (s: Modelled) => string | undefined): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const s of samples) {
      const k = key(s);
      if (k !== undefined) out[k] = (out[k] ?? 0) + 1;
    }
    return out;
  };
  const scored = samples.filter((s) => s.correct !== null);
  return {
    bundle,
    link: link.profile.name,
    device: device.id,
    strategy,
    samples: n,
    accuracy: scored.length ? scored.filter((s) => s.correct).length / scored.length : null,
    exitRate: samples.filter((s) => s.path.startsWith('exit:')).length / n,
    payloadBytesUp: samples.reduce((a, s) => a + s.payloadBytes, 0) / n,
    wireBytesUp: run.wireUp / n,
    wireBytesDown: run.wireDown / n,
    requestsPerInference: samples.filter((s) => s.crossed).length / n,
    latencyMsMean: latency.reduce((a, b) => a + b, 0) / n,
    latencyMsP50: percentile(latency, 50),
    latencyMsP95: percentile(latency, 95),
    latencyMsP99: percentile(latency, 99),
    energyJ: samples.reduce((a, s) => a + s.energyJ, 0) / n,
    paths: count((s) => s.path),
    fallbacks: count((s) => s.reason),
    ratePoints: count((s) => (s.crossed ? s.ratePoint : undefined)),
    measured: { accuracy: 'measured', bytes: 'measured', latency: device.macsPerSecond === undefined ? 'measured' : 'modelled', energy: 'modelled' },
    lanes: run.lanes,
    pilotSamples: pilot.length,
    pilotLatencyMsMean: pilot.length ? pilot.reduce((a, s) => a + s.latencyMs, 0) / pilot.length : NaN,
  };
}

/** One workload: a bundle, its inputs and their labels (null: no accuracy claims). */
interface Work {
  dir: string;
  manifest: Manifest;
  inputs: Uint8Array[];
  labels: (number | null)[];
}

/** Runs every configuration. */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const t0 = performance.now();
  const pilotN = o.pilot ?? 50;
  const warmup = o.warmup ?? 10;
  const deadlineMs = o.deadlineMs ?? 10_000;
  const periodMs = o.periodMs ?? 0;
  const data = await loadFashionMnistTest();
  const bundles = await Promise.all(o.bundles.map(async (dir) => ({ dir, manifest: (await loadBundle(dir, { checkGraphs: false })).manifest })));
  const work: Work[] = bundles.map((b) => {
    const m = b.manifest;
    if (!m.timingOnly && m.input.shape.join('x') === `1x${data.height}x${data.width}`) {
      const n = Math.min(o.samples, data.count);
      return { ...b, inputs: Array.from({ length: n }, (_, i) => imageAt(data, i)), labels: Array.from(data.labels.subarray(0, n)) };
    }
    const n = o.timingSamples ?? Math.min(o.samples, 30);
    return {
      ...b,
      inputs: seededSamples(
        m.input.raw.shape.reduce((a, x) => a * x, 1),
        n,
      ),
      labels: new Array<null>(n).fill(null),
    };
  });
  const modelledDevices = o.devices.filter((d) => d.id !== 'host');
  const runsPerLink = 3 + 2 * o.devices.length;
  const total = work.reduce((a, b) => a + b.inputs.length * (1 + runsPerLink * o.links.length), 0);
  let done = 0;

  const local = await startLocalEdge(work.map((b) => b.dir));
  const rows: BenchRow[] = [];
  const links: BenchResult['links'] = [];
  try {
    const measure = async (
      b: Work,
      policy: Partial<PolicyOptions>,
      device: DeviceClass,
      link: NamedLink,
      proxy: LinkProxy | undefined,
      label: string,
    ): Promise<LaneRun> => {
      const reachable = proxy !== undefined && (link.profile.outages ?? []).length === 0;
      const make = (): Promise<Device> =>
        createDevice({
          bundle: b.dir,
          policy,
          deadlineMs,
          profile: { device: device.id, link: link.radio, periodMs },
          ...(proxy ? { edge: `ws://127.0.0.1:${proxy.port}` } : {}),
        });
      return runLanes({
        make,
        inputs: b.inputs,
        warmup,
        pilot: pilotN,
        parallel: o.parallel ?? 4,
        ...(reachable ? { connectMs: Math.max(2000, deadlineMs) } : {}),
        ...(proxy ? { bytes: () => proxy.bytes() } : {}),
        onResult: () => {
          if (++done % 10 === 0) o.onProgress?.(done, total, label);
        },
      });
    };
    const host = deviceClass('host');
    /** A run's samples on `device`: as reported (the run modelled this device), or re-modelled from host measurements. */
    const modelled = (b: Work, run: LaneRun, device: DeviceClass, link: NamedLink, asReported: boolean): Modelled[] => {
      const macs = { head: b.manifest.macs ? b.manifest.macs.head + (b.manifest.macs.exits ?? 0) : undefined, full: b.manifest.macs?.full };
      return run.results.map((r, i) => {
        const lab = b.labels[i]!;
        const { latencyMs, energyJ } = asReported ? { latencyMs: r.timings.total, energyJ: r.energy.totalJ } : remodel(r, device, link.radio, periodMs, macs);
        return {
          correct: lab === null ? null : r.label === lab,
          path: r.path,
          ...(r.reason ? { reason: r.reason } : {}),
          ...(r.ratePoint ? { ratePoint: r.ratePoint } : {}),
          payloadBytes: r.bytesUp > 0 ? r.payloadBytes : 0,
          crossed: r.bytesUp > 0,
          latencyMs,
          energyJ,
        };
      });
    };
    // `local` does not touch the link: measure it once per bundle, report it on every link.
    const localRuns = new Map<string, LaneRun>();
    for (const b of work) localRuns.set(b.dir, await measure(b, { force: 'always-local' }, host, o.links[0]!, undefined, `${b.manifest.id} local`));

    for (const link of o.links) {
      const outage = (link.profile.outages ?? []).length > 0;
      const fidelity = outage
        ? {
            link: link.profile.name,
            configured: configuredLink(link.profile),
            measured: { upMbps: NaN, downMbps: NaN, rttMs: NaN, rttMedianMs: NaN },
            ok: true,
          }
        : await measureLink(link.profile);
      links.push({ ...fidelity, source: link.source, radio: RADIOS[link.radio].name });
      const proxy = await createLinkProxy({ host: '127.0.0.1', port: local.port }, link.profile);
      try {
        for (const b of work) {
          const m = b.manifest;
          const rp = m.bottleneck.defaultRatePoint;
          const base: Record<(typeof BASELINES)[number], LaneRun> = {
            local: localRuns.get(b.dir)!,
            offload: await measure(b, { force: 'full-offload' }, host, link, proxy, `${m.id} ${link.profile.name} offload`),
            split: await measure(b, { force: 'always-offload', ratePoint: rp }, host, link, proxy, `${m.id} ${link.profile.name} split`),
            'split-exit': await measure(b, { force: 'exit-then-offload', ratePoint: rp }, host, link, proxy, `${m.id} ${link.profile.name} split-exit`),
          };
          for (const device of [...o.devices.filter((d) => d.id === 'host'), ...modelledDevices]) {
            const baseRows = BASELINES.map((s) => summarize(m.id, link, device, s, base[s], modelled(b, base[s], device, link, false)));
            rows.push(...baseRows);
            for (const [strategy, objective] of [
              ['adaptive', 'latency'],
              ['adaptive:energy', 'energy'],
            ] as [Strategy, Objective][]) {
              const run = await measure(b, { objective }, device, link, proxy, `${m.id} ${link.profile.name} ${device.id} ${strategy}`);
              rows.push(summarize(m.id, link, device, strategy, run, modelled(b, run, device, link, true)));
            }
            const bestLatency = baseRows.reduce((a, r) => (r.latencyMsMean < a.latencyMsMean ? r : a));
            const bestEnergy = baseRows.reduce((a, r) => (r.energyJ < a.energyJ ? r : a));
            rows.push({
              ...bestLatency,
              strategy: 'oracle',
              energyJ: bestEnergy.energyJ,
              oracleOf: { latency: bestLatency.strategy, energy: bestEnergy.strategy },
            });
          }
        }
      } finally {
        await proxy.close();
      }
    }
  } finally {
    await local.close();
  }
  return {
    rows,
    links,
    devices: o.devices,
    radios: RADIOS,
    periodMs,
    bundles: work.map((b) => {
      const m = b.manifest;
      return {
        id: m.id,
        dir: b.dir,
        timingOnly: Boolean(m.timingOnly),
        ratePoint: m.bottleneck.ratePoints[m.bottleneck.defaultRatePoint]!.id,
        threshold: m.exits[0]?.recommendedThreshold ?? null,
        splitAccuracy: m.accuracy?.splitByRate ?? null,
      };
    }),
    seconds: (performance.now() - t0) / 1000,
  };
}
