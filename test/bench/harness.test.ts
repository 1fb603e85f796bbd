/**
 * `offramp bench` (bench/harness/, cli/bench.ts) on the tiny bundle: a real edge, a real shaping
 * proxy on a slow custom link, the real SDK, for this host and a modelled device class. Figures
 * that depend on this machine's speed are only checked for consistency (oracle = best baseline,
 * energy = power × time); what is exact (paths, payload bytes, accuracy, modelled compute) is
 * checked exactly.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remodel, runBench, STRATEGIES, type BenchResult, type BenchRow } from '../../bench/harness/run.js';
import { targetChecks, writeReport } from '../../bench/harness/report.js';
import { benchCommand } from '../../cli/bench.js';
import { imageAt, loadFashionMnistTest } from '../../head/datasets/fashion-mnist.js';
import { createDevice } from '../../head/device.js';
import { deviceClass, RADIOS } from '../../head/devices.js';
import { bundlePolicyModel } from '../../head/policy.js';
import { LINKS, parseLink } from '../../link/profiles.js';
import { loadBundle } from '../../protocol/bundle.js';
import type { Manifest } from '../../protocol/manifest.js';
import { evaluateBundle, type EvalResult } from '../../split/eval.js';
import { TINY } from '../tail/client.js';

const SAMPLES = 24;
const PILOT = 8;
const LANES = 3;
/** 20 Mbit/s each way, 60 ms round trip: offloading waits on the link. */
const slow = parseLink('slow:20:20:60');
const host = deviceClass('host');
const mcu = deviceClass('mcu');
/** The tiny bundle's MACs: head 12,544 (no separate exit MACs), full 23,520. */
const MACS = { head: 12544, full: 23520 };
const BASELINES = ['local', 'offload', 'split', 'split-exit'] as const;

/** Equal within `rel` relative (means of equal values summed in binary floating point). */
function expectRel(got: number, want: number, rel = 1e-12): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.abs(want));
}

/**
 * The exit threshold the SDK's policy runs split-exit at: head/policy.ts's bundlePolicyModel, the
 * lowest calibrated threshold whose accuracy stays within 0.5 pt of the default rate point's split
 * accuracy (the table's last if none does). The exporter calibrates at that point, so this is the
 * manifest's recommendedThreshold.
 */
function deviceThreshold(m: Manifest): number {
  return bundlePolicyModel(m, { maxAccuracyLoss: 0.005 }).thresholds[0]!;
}

let result: BenchResult;
let manifest: Manifest;
/** The same images through the eval path (batch 1), for payload sizes and accuracies. */
let evalS1: EvalResult;
let evalExit: EvalResult;
const progress: { done: number; total: number; label: string }[] = [];
let reportDir: string;

beforeAll(async () => {
  manifest = (await loadBundle(TINY)).manifest;
  reportDir = await mkdtemp(join(tmpdir(), 'offramp-bench-'));
  result = await runBench({
    bundles: [TINY],
    links: [slow],
    devices: [host, mcu],
    samples: SAMPLES,
    parallel: LANES,
    pilot: PILOT,
    warmup: 2,
    deadlineMs: 30_000,
    periodMs: 0,
    onProgress: (done, total, label) => progress.push({ done, total, label }),
  });
  evalS1 = await evaluateBundle({ bundle: TINY, rate: 's1', limit: SAMPLES, batchSize: 1, threshold: 1.01 });
  evalExit = await evaluateBundle({ bundle: TINY, rate: 's1', limit: SAMPLES, batchSize: 1, threshold: deviceThreshold(manifest) });
}, 240_000);
afterAll(async () => {
  await rm(reportDir, { recursive: true, force: true });
});

const row = (device: string, strategy: string): BenchRow => {
  const r = result.rows.find((x) => x.link === 'slow' && x.device === device && x.strategy === strategy);
  if (!r) throw new Error(`no row for ${device} ${strategy}`);
  return r;
};

describe('runBench: rows', () => {
  it('one row per strategy × device class, each over every sample, on the one link', () => {
    expect(result.rows.map((r) => `${r.device} ${r.strategy}`).sort()).toEqual(['host', 'mcu'].flatMap((d) => STRATEGIES.map((s) => `${d} ${s}`)).sort());
    for (const r of result.rows) {
      expect(r).toMatchObject({ bundle: 'tiny', link: 'slow', samples: SAMPLES });
      expect(Object.values(r.paths).reduce((a, b) => a + b, 0)).toBe(SAMPLES);
    }
  });

  it('describes the run: bundle, link as configured, devices, radios, period', () => {
    expect(result.bundles).toEqual([
      { id: 'tiny', dir: TINY, timingOnly: false, ratePoint: 's1', threshold: 0.5, splitAccuracy: manifest.accuracy!.splitByRate },
    ]);
    expect(result.links).toHaveLength(1);
    expect(result.links[0]).toMatchObject({
      link: 'slow',
      configured: { upMbps: 20, downMbps: 20, rttMs: 60 },
      radio: 'LTE',
      source: 'custom (from flags); LTE radio coefficients',
    });
    expect(result.devices).toEqual([host, mcu]);
    expect(result.radios).toBe(RADIOS);
    expect(result.periodMs).toBe(0);
    expect(result.seconds).toBeGreaterThan(0);
  });

  it('reports progress against the total: every sample of every run', () => {
    // Per link: offload, split, split-exit, and two adaptive runs per device; local once per bundle.
    const total = SAMPLES * (1 + 3 + 2 * 2);
    expect(progress.length).toBeGreaterThan(0);
    for (const p of progress) expect(p.total).toBe(total);
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: Math.floor(total / 10) }, (_, i) => (i + 1) * 10));
    expect(progress.some((p) => p.label === 'tiny slow mcu adaptive:energy')).toBe(true);
  });

  it('starts every run with a serial pilot, then runs the devices side by side', () => {
    for (const r of result.rows) {
      expect(r.lanes).toBe(LANES);
      expect(r.pilotSamples).toBe(PILOT);
      expect(r.pilotLatencyMsMean).toBeGreaterThan(0);
    }
    // Over a 60 ms round trip no answer from the edge can come sooner.
    for (const s of ['offload', 'split']) {
      expect(row('host', s).pilotLatencyMsMean).toBeGreaterThanOrEqual(60);
      expect(row('host', s).latencyMsP50).toBeGreaterThanOrEqual(60);
    }
  });
});

describe('runBench: each strategy does what it says', () => {
  it("local: the full model on the device, nothing on the link; the teacher's accuracy", () => {
    const r = row('host', 'local');
    expect(r).toMatchObject({
      paths: { local: SAMPLES },
      payloadBytesUp: 0,
      wireBytesUp: 0,
      wireBytesDown: 0,
      requestsPerInference: 0,
      ratePoints: {},
      exitRate: 0,
      fallbacks: {},
    });
    expect(r.accuracy).toBe(evalS1.teacherAccuracy);
  });

  it("offload: every raw image to the edge's full model, one request each; the teacher's accuracy", () => {
    const r = row('host', 'offload');
    expect(r).toMatchObject({ paths: { edge: SAMPLES }, ratePoints: { input: SAMPLES }, requestsPerInference: 1, fallbacks: {} });
    expect(r.payloadBytesUp).toBeGreaterThan(0);
    expect(r.payloadBytesUp).toBeLessThanOrEqual(784); // 28 × 28 raw bytes, zstd-wrapped only when smaller
    expect(r.accuracy).toBe(evalS1.teacherAccuracy);
  });

  it("split: every bottleneck at the default rate point; payload bytes are the mean of the codec's payloads", () => {
    const r = row('host', 'split');
    expect(r).toMatchObject({ paths: { edge: SAMPLES }, ratePoints: { s1: SAMPLES }, requestsPerInference: 1, exitRate: 0, fallbacks: {} });
    expect(r.payloadBytesUp).toBe(evalS1.payloadBytesMean);
    expect(r.accuracy).toBe(evalS1.splitAccuracy);
  });

  it('split-exit: confident images leave at the exit, the rest go to the edge', () => {
    expect(deviceThreshold(manifest)).toBe(manifest.exits[0]!.recommendedThreshold);
    const r = row('host', 'split-exit');
    const exits = Math.round(evalExit.exitRate * SAMPLES);
    expect(r.paths).toEqual({ 'exit:0': exits, edge: SAMPLES - exits });
    expect(r.exitRate).toBe(evalExit.exitRate);
    expect(r.ratePoints).toEqual({ s1: SAMPLES - exits });
    expect(r.requestsPerInference).toBe((SAMPLES - exits) / SAMPLES);
    expect(r.payloadBytesUp).toBeLessThan(row('host', 'split').payloadBytesUp);
    expect(r.accuracy).toBe(evalExit.accuracy);
  });

  it('adaptive: every answer counted once, on known paths and rate points', () => {
    for (const device of ['host', 'mcu']) {
      for (const s of ['adaptive', 'adaptive:energy']) {
        const r = row(device, s);
        for (const p of Object.keys(r.paths)) expect(['exit:0', 'edge', 'local', 'fallback']).toContain(p);
        for (const rp of Object.keys(r.ratePoints)) expect(['s1', 'u4', 'f16', 'input']).toContain(rp);
        expect(r.accuracy).not.toBeNull();
      }
    }
  });
});

describe('runBench: bytes', () => {
  it('counts everything on the socket at the proxy: wire bytes ≥ payload bytes, each way', () => {
    for (const s of ['offload', 'split', 'split-exit'] as const) {
      const r = row('host', s);
      expect(r.wireBytesUp).toBeGreaterThan(r.payloadBytesUp);
      expect(r.wireBytesDown).toBeGreaterThan(0);
    }
    // The raw image costs more than the bottleneck.
    expect(row('host', 'offload').wireBytesUp).toBeGreaterThan(row('host', 'split').wireBytesUp);
  });
});

describe('runBench: device classes', () => {
  it('device-independent strategies run once: the same answers and bytes on every class', () => {
    for (const s of BASELINES) {
      const h = row('host', s);
      const m = row('mcu', s);
      expect(m.accuracy).toBe(h.accuracy);
      expect(m.paths).toEqual(h.paths);
      expect(m.ratePoints).toEqual(h.ratePoints);
      expect([m.payloadBytesUp, m.wireBytesUp, m.wireBytesDown]).toEqual([h.payloadBytesUp, h.wireBytesUp, h.wireBytesDown]);
    }
  });

  it('models compute on a modelled class: a local answer on mcu takes MACs ÷ 1.39e8 MAC/s', () => {
    const want = (MACS.full / 1.39e8) * 1000;
    const r = row('mcu', 'local');
    for (const p of [r.latencyMsP50, r.latencyMsP95, r.latencyMsP99]) expect(p).toBe(want);
    expectRel(r.latencyMsMean, want);
    // Energy of a local answer: active power × its time.
    expectRel(r.energyJ, (mcu.activeW * want) / 1000);
    expect(r.measured).toEqual({ accuracy: 'measured', bytes: 'measured', latency: 'modelled', energy: 'modelled' });
    expect(row('host', 'local').measured.latency).toBe('measured');
  });

  it('on this host a local answer costs 15 W × its measured time', () => {
    const r = row('host', 'local');
    expectRel(r.energyJ, (host.activeW * r.latencyMsMean) / 1000, 1e-9);
  });

  it('the oracle is the best baseline in hindsight, for latency and for energy separately', () => {
    for (const device of ['host', 'mcu']) {
      const base = BASELINES.map((s) => row(device, s));
      const oracle = row(device, 'oracle');
      const fastest = base.reduce((a, r) => (r.latencyMsMean < a.latencyMsMean ? r : a));
      const thriftiest = base.reduce((a, r) => (r.energyJ < a.energyJ ? r : a));
      expect(oracle.latencyMsMean).toBe(fastest.latencyMsMean);
      expect(oracle.energyJ).toBe(thriftiest.energyJ);
      expect(oracle.oracleOf).toEqual({ latency: fastest.strategy, energy: thriftiest.strategy });
    }
  });
});

describe('remodel: a host-measured answer on another device class', () => {
  let local: Awaited<ReturnType<Awaited<ReturnType<typeof createDevice>>['infer']>>;
  beforeAll(async () => {
    const device = await createDevice({ bundle: TINY, policy: { force: 'always-local' } });
    try {
      local = await device.infer(imageAt(await loadFashionMnistTest(), 0));
    } finally {
      await device.close();
    }
  });

  it('a local answer on mcu: exactly MACs ÷ throughput, at active power', () => {
    expect(local.path).toBe('local');
    expect(local.measured.head).toBe(0); // always-local skips the head
    const r = remodel(local, mcu, 'lte', 0, MACS);
    expect(r.latencyMs).toBe((23520 / 1.39e8) * 1000);
    expect(r.energyJ).toBe((0.235 * r.latencyMs) / 1000);
  });

  it('a local answer on host: as measured, at 15 W; the radio is not involved', () => {
    for (const link of ['lte', 'wifi', '3g', '5g'] as const) {
      const r = remodel(local, host, link, 5000, MACS);
      expect(r.latencyMs).toBe(local.measured.local);
      expect(r.energyJ).toBe((15 * local.measured.local) / 1000);
    }
  });

  it('an answer that crossed the link: modelled compute plus the measured busy time, with the radio', () => {
    const crossed = { ...local, path: 'edge' as const, bytesUp: 40, bytesDown: 20, measured: { head: 0.2, encode: 0.05, busy: 70, local: 0, wall: 71 } };
    const r = remodel(crossed, mcu, 'wifi', 0, MACS);
    const compute = (12544 / 1.39e8) * 1000 + 0.05;
    expect(r.latencyMs).toBe(compute + 70);
    // compute at 0.235 W, waiting at 0.105 W, Wi-Fi: α up/down per Mbit + β per busy second (no tail: back to back).
    const radioMj = 283.17 * ((40 * 8) / 1e6) + 137.01 * ((20 * 8) / 1e6) + (132.86 * 70) / 1000;
    expectRel(r.energyJ, (0.235 * compute) / 1000 + (0.105 * 70) / 1000 + radioMj / 1000);
  });
});

describe('runBench on a link that is down (offline)', () => {
  const N = 8;
  let offline: BenchResult;
  beforeAll(async () => {
    offline = await runBench({ bundles: [TINY], links: [LINKS.offline!], devices: [host], samples: N, parallel: 1, pilot: N, warmup: 1, deadlineMs: 30_000 });
  }, 120_000);
  const get = (strategy: string): BenchRow => offline.rows.find((r) => r.strategy === strategy)!;

  it('every offload falls back to the local model, with the reason; nothing crosses the link', () => {
    for (const s of ['offload', 'split']) {
      expect(get(s)).toMatchObject({
        paths: { fallback: N },
        fallbacks: { disconnected: N },
        ratePoints: {},
        requestsPerInference: 0,
        wireBytesUp: 0,
        wireBytesDown: 0,
      });
      // Payload bytes count what was sent: none.
      expect(get(s).payloadBytesUp).toBe(0);
      expect(get(s).accuracy).toBe(get('local').accuracy);
    }
    const se = get('split-exit');
    const exits = se.paths['exit:0'] ?? 0;
    expect(se.paths).toEqual({ ...(exits ? { 'exit:0': exits } : {}), fallback: N - exits });
    expect(se.fallbacks).toEqual({ disconnected: N - exits });
    expect(se.payloadBytesUp).toBe(0);
    for (const s of ['adaptive', 'adaptive:energy']) expect(get(s).paths.edge).toBeUndefined();
  });

  it('records the outage instead of measuring the link', () => {
    expect(offline.links).toHaveLength(1);
    const l = offline.links[0]!;
    expect(l).toMatchObject({ link: 'offline', configured: { upMbps: 1, downMbps: 1, rttMs: 50 }, ok: true, radio: 'LTE' });
    expect(Object.values(l.measured).every(Number.isNaN)).toBe(true);
  });
});

describe('targetChecks', () => {
  it('per bundle and device: adaptive against the oracle and against local and offload', () => {
    const checks = targetChecks(result);
    expect(checks.map((c) => c.name)).toEqual(
      ['host', 'mcu'].flatMap((d) => [
        `tiny on ${d}: adaptive latency ≤ 1.05 × oracle on every link`,
        `tiny on ${d}: adaptive latency below local and offload, averaged over links`,
        `tiny on ${d}: adaptive:energy energy ≤ 1.05 × oracle on every link`,
        `tiny on ${d}: adaptive:energy energy below local and offload, averaged over links`,
      ]),
    );
    for (const device of ['host', 'mcu']) {
      const ratio = row(device, 'adaptive').latencyMsMean / row(device, 'oracle').latencyMsMean;
      const c = checks.find((x) => x.name === `tiny on ${device}: adaptive latency ≤ 1.05 × oracle on every link`)!;
      expect(c.value).toBe(`slow ${ratio.toFixed(3)}`);
      expect(c.pass).toBe(ratio <= 1.05);
      const e = checks.find((x) => x.name === `tiny on ${device}: adaptive:energy energy below local and offload, averaged over links`)!;
      const a = row(device, 'adaptive:energy').energyJ;
      expect(e.pass).toBe(a < row(device, 'local').energyJ && a < row(device, 'offload').energyJ);
      expect(e.value).toBe(
        `${(a * 1000).toFixed(2)} mJ vs local ${(row(device, 'local').energyJ * 1000).toFixed(2)} mJ, offload ${(row(device, 'offload').energyJ * 1000).toFixed(2)} mJ`,
      );
    }
  });

  it("on lte, for the first device class: split-exit's wire bytes against full offload's, and framing per split request", () => {
    const asLte: BenchResult = { ...result, rows: result.rows.map((r) => ({ ...r, link: 'lte' })) };
    const checks = targetChecks(asLte);
    const se = row('host', 'split-exit');
    const off = row('host', 'offload');
    const split = row('host', 'split');
    expect(checks.find((c) => c.name === "tiny on lte: split-exit wire bytes up ≤ 0.08 × full offload's")).toEqual({
      name: "tiny on lte: split-exit wire bytes up ≤ 0.08 × full offload's",
      value: `${se.wireBytesUp.toFixed(1)} B vs ${off.wireBytesUp.toFixed(1)} B (ratio ${(se.wireBytesUp / off.wireBytesUp).toFixed(3)})`,
      pass: se.wireBytesUp <= 0.08 * off.wireBytesUp,
    });
    const framing = (split.wireBytesUp - split.payloadBytesUp) / split.requestsPerInference;
    expect(checks.find((c) => c.name === 'tiny on lte: wire bytes up − payload ≤ 14 B per split request')).toEqual({
      name: 'tiny on lte: wire bytes up − payload ≤ 14 B per split request',
      value: `${framing.toFixed(1)} B`,
      pass: framing <= 14,
    });
    expect(checks).toHaveLength(8 + 2);
  });
});

describe('writeReport', () => {
  it('writes report.md and the SVG plots', async () => {
    const env = { cpu: 'test cpu', cores: 2, node: process.version, commit: 'abc1234', date: 'now', packages: { vega: '5' } };
    const files = await writeReport(result, env, reportDir, 'offramp bench (test)');
    expect(files.map((f) => f.slice(reportDir.length + 1)).sort()).toEqual(['energy.svg', 'exit-rate.svg', 'latency-vs-uplink.svg', 'report.md']);
    for (const svg of ['energy.svg', 'exit-rate.svg', 'latency-vs-uplink.svg'])
      expect((await readFile(join(reportDir, svg), 'utf8')).startsWith('<svg')).toBe(true);
    const md = await readFile(join(reportDir, 'report.md'), 'utf8');
    expect(md.startsWith('# Offramp benchmark report\n\nCommand: `offramp bench (test)`\n')).toBe(true);
    expect(md).toContain('Environment: test cpu × 2 cores');
    for (const c of targetChecks(result)) expect(md).toContain(`| ${c.name} | ${c.value} | ${c.pass ? 'yes' : '**no**'} |`);
    // One results line per row; the modelled device says so.
    for (const r of result.rows) expect(md).toContain(`| tiny | slow | ${r.device} | ${r.strategy}`);
    expect(md).toContain(`| tiny | slow | mcu | local | ${(evalS1.teacherAccuracy * 100).toFixed(2)}% | 0.00% | 0.0 | 0.0 / 0.0 |`);
    expect(md).toMatch(/\| tiny \| slow \| mcu \| local \|[^\n]*\(modelled\) \|/);
    expect(md).toMatch(/\| tiny \| slow \| host \| local \|[^\n]*\(measured\) \|/);
    expect(md).toContain('| slow | 20 / 20, 60 |');
    expect(md).toContain(`| mcu (${mcu.name}) | 1.39e+8 | 0.235 | 0.105 | ${mcu.source} |`);
    expect(md).toContain('| LTE | 438.39 | 51.97 | 1288.04 | 1060 / 11576 | 1210.7 / 260.1 |');
  });
});

describe('offramp bench (benchCommand) refuses bad flags before running anything', () => {
  const refuse = async (flags: Record<string, unknown>): Promise<{ code: number; out: string[]; err: string[] }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await benchCommand(
      { progress: false, ...flags },
      (s) => out.push(s),
      (s) => err.push(s),
      [],
    );
    return { code, out, err };
  };

  it('--parallel: a positive integer or auto', async () => {
    for (const bad of ['lots', '0', '2.5', '-1', '']) {
      expect(await refuse({ parallel: bad })).toEqual({
        code: 2,
        out: [],
        err: [`offramp bench: --parallel must be a positive integer or 'auto', got ${JSON.stringify(bad)}`],
      });
    }
  });

  it('numbers, links, device classes and bundle folders, each with its message', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ samples: '0' }, 'offramp bench: --samples must be a positive integer, got "0"'],
      [{ samples: 'ten' }, 'offramp bench: --samples must be a positive integer, got "ten"'],
      [{ warmup: '-1' }, 'offramp bench: --warmup must be an integer ≥ 0, got "-1"'],
      [{ deadlineMs: '0' }, 'offramp bench: --deadline-ms must be a positive integer, got "0"'],
      [{ periodMs: '1.5' }, 'offramp bench: --period-ms must be an integer ≥ 0, got "1.5"'],
      [{ timingSamples: '0' }, 'offramp bench: --timing-samples must be a positive integer, got "0"'],
      [
        { links: 'moon' },
        "offramp bench: unknown link 'moon': use one of 3g, lte, wifi, 5g, wifi-lan, lte-edge-of-cell, offline or name:upMbps:downMbps:rttMs[:jitterMs[:loss]]",
      ],
      [{ links: 'lte,x:0:1:5' }, "offramp bench: bad link 'x:0:1:5': rates must be > 0, times ≥ 0, loss in [0, 1)"],
      [{ device: 'host,toaster' }, "offramp bench: unknown device class 'toaster': use one of host, mcu, phone-low, phone-mid, rpi4, laptop"],
      [{ bundle: `${TINY},${reportDir}` }, `offramp bench: ${reportDir} holds no manifest.json`],
    ];
    for (const [flags, message] of cases) expect(await refuse(flags)).toEqual({ code: 2, out: [], err: [message] });
  });
});
