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
import { deviceClass, RADIOS, type DeviceClass } from '../../head/devices.js';
import type { Objective, PolicyOptions } from '../../head/policy.js';
import type { NamedLink } from '../../link/profiles.js';
import { createLinkProxy, type LinkProxy } from '../../link/proxy.js';
import { startLocalEdge } from '../../scenario/edge.js';
import type { LaneRun } from '../../scenario/lanes.js';
import type { LinkFidelity } from '../link/fidelity.js';
import { linkFidelity, measureRun } from './measure.js';
import { bundleMacs, modelSamples } from './remodel.js';
import { oracleRow, summarize } from './summarise.js';
import { bundleInfo, loadWork, type Work } from './workload.js';

export { remodel } from './remodel.js';

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

/** One run of a workload with a policy on a device class over a link (no proxy: no edge); `label` names it in progress reports. */
type Measure = (b: Work, policy: Partial<PolicyOptions>, device: DeviceClass, link: NamedLink, proxy: LinkProxy | undefined, label: string) => Promise<LaneRun>;

/** The rows of one workload on one link, per device class (host first): the baselines, the adaptive strategies, the oracle. */
async function benchOnLink(
  b: Work,
  link: NamedLink,
  proxy: LinkProxy,
  localRun: LaneRun,
  devices: DeviceClass[],
  periodMs: number,
  measure: Measure,
): Promise<BenchRow[]> {
  const m = b.manifest;
  const rp = m.bottleneck.defaultRatePoint;
  const host = deviceClass('host');
  const name = `${m.id} ${link.profile.name}`;
  const base: Record<(typeof BASELINES)[number], LaneRun> = {
    local: localRun,
    offload: await measure(b, { force: 'full-offload' }, host, link, proxy, `${name} offload`),
    split: await measure(b, { force: 'always-offload', ratePoint: rp }, host, link, proxy, `${name} split`),
    'split-exit': await measure(b, { force: 'exit-then-offload', ratePoint: rp }, host, link, proxy, `${name} split-exit`),
  };
  const macs = bundleMacs(m);
  const rows: BenchRow[] = [];
  for (const device of [...devices.filter((d) => d.id === 'host'), ...devices.filter((d) => d.id !== 'host')]) {
    // The baselines decide the same way everywhere: their host runs, re-modelled for this class.
    // The adaptive runs decided as this class: their latency as reported; every energy on the same timeline.
    const remodelled = { asReported: false, device, link: link.radio, periodMs, macs } as const;
    const baseRows = BASELINES.map((s) => summarize(m.id, link, device, s, base[s], modelSamples(base[s], b.labels, remodelled)));
    rows.push(...baseRows);
    for (const [strategy, objective] of [
      ['adaptive', 'latency'],
      ['adaptive:energy', 'energy'],
    ] as [Strategy, Objective][]) {
      const run = await measure(b, { objective }, device, link, proxy, `${name} ${device.id} ${strategy}`);
      rows.push(summarize(m.id, link, device, strategy, run, modelSamples(run, b.labels, { ...remodelled, asReported: true })));
    }
    rows.push(oracleRow(baseRows));
  }
  return rows;
}

/** Runs every configuration. */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const t0 = performance.now();
  const periodMs = o.periodMs ?? 0;
  const work = await loadWork(o.bundles, o.samples, o.timingSamples);
  const runsPerLink = 3 + 2 * o.devices.length;
  const total = work.reduce((a, b) => a + b.inputs.length * (1 + runsPerLink * o.links.length), 0);
  let done = 0;
  const settings = { deadlineMs: o.deadlineMs ?? 10_000, periodMs, warmup: o.warmup ?? 10, pilot: o.pilot ?? 50, parallel: o.parallel ?? 4 };
  const measure: Measure = (b, policy, device, link, proxy, label) =>
    measureRun(b, policy, device, link, proxy, {
      ...settings,
      onResult: () => {
        if (++done % 10 === 0) o.onProgress?.(done, total, label);
      },
    });

  const local = await startLocalEdge(work.map((b) => b.dir));
  const rows: BenchRow[] = [];
  const links: BenchResult['links'] = [];
  try {
    // `local` does not touch the link: measure it once per bundle, report it on every link.
    const localRuns = new Map<string, LaneRun>();
    for (const b of work)
      localRuns.set(b.dir, await measure(b, { force: 'always-local' }, deviceClass('host'), o.links[0]!, undefined, `${b.manifest.id} local`));
    for (const link of o.links) {
      links.push({ ...(await linkFidelity(link)), source: link.source, radio: RADIOS[link.radio].name });
      const proxy = await createLinkProxy({ host: '127.0.0.1', port: local.port }, link.profile);
      try {
        for (const b of work) rows.push(...(await benchOnLink(b, link, proxy, localRuns.get(b.dir)!, o.devices, periodMs, measure)));
      } finally {
        await proxy.close();
      }
    }
  } finally {
    await local.close();
  }
  return { rows, links, devices: o.devices, radios: RADIOS, periodMs, bundles: work.map(bundleInfo), seconds: (performance.now() - t0) / 1000 };
}
