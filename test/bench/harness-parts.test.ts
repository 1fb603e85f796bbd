/**
 * bench/harness/'s steps alone, on made-up runs (no edge, no device): the workloads, the
 * remodel-per-device-class step, the summarise step, the oracle, the link fidelity of an outage,
 * the plots' data and the report's sections.
 */
import { describe, expect, it } from 'vitest';
import { linkFidelity } from '../../bench/harness/measure.js';
import { exitPoints, plotRows, reportPlots } from '../../bench/harness/plots.js';
import { bundleMacs, modelSamples, modelTimeline, remodel, type Modelled } from '../../bench/harness/remodel.js';
import { devicesSection, headerSection, linksSection, reportMarkdown, resultRow, resultsSection, targetsSection } from '../../bench/harness/report-md.js';
import type { BenchResult, BenchRow } from '../../bench/harness/run.js';
import { oracleRow, summarize, tally } from '../../bench/harness/summarise.js';
import { bundleInfo, workInputs } from '../../bench/harness/workload.js';
import type { ImageSet } from '../../head/datasets/fashion-mnist.js';
import type { InferResult } from '../../head/device.js';
import { deviceClass, RADIOS } from '../../head/devices.js';
import { LINKS, parseLink } from '../../link/profiles.js';
import { loadBundle } from '../../protocol/bundle.js';
import type { Manifest } from '../../protocol/manifest.js';
import type { LaneRun } from '../../scenario/lanes.js';
import { TINY } from '../tail/client.js';

const host = deviceClass('host');
const mcu = deviceClass('mcu');
const slow = parseLink('slow:20:20:60');
const tiny = (await loadBundle(TINY, { checkGraphs: false })).manifest;

/** An inference result with the fields the harness reads. */
function result(over: Partial<InferResult> = {}, measured: Partial<InferResult['measured']> = {}): InferResult {
  return {
    label: 1,
    labelName: undefined,
    confidence: 0.9,
    path: 'edge',
    payloadBytes: 40,
    bytesUp: 60,
    bytesDown: 20,
    timings: { head: 1, encode: 0.5, network: 10, server: { queue: 0, decode: 0, compute: 0 }, local: 0, total: 11.5 },
    energy: { computeJ: 0.001, radioJ: 0.002, totalJ: 0.003, model: 'x' },
    measured: { head: 1, encode: 0.5, busy: 10, local: 0, wall: 11.5, ...measured },
    ...over,
  };
}

function run(results: InferResult[], over: Partial<LaneRun> = {}): LaneRun {
  return { results, wireUp: 600, wireDown: 200, lanes: 2, pilot: 2, ...over };
}

function sample(over: Partial<Modelled> = {}): Modelled {
  return { correct: true, path: 'edge', payloadBytes: 40, crossed: true, latencyMs: 10, energyJ: 0.002, ...over };
}

describe('workInputs', () => {
  const data: ImageSet = { count: 3, height: 28, width: 28, images: new Uint8Array(3 * 784).map((_, i) => i % 251), labels: Uint8Array.of(7, 2, 5) };
  it('takes the first test images with their labels for a Fashion-MNIST bundle, at most the set', () => {
    const w = workInputs(tiny, data, 2);
    expect(w.labels).toEqual([7, 2]);
    expect(w.inputs.map((x) => x.length)).toEqual([784, 784]);
    expect(w.inputs[1]![0]).toBe(784 % 251);
    expect(workInputs(tiny, data, 10).labels).toEqual([7, 2, 5]);
  });
  it('gives a timing-only bundle synthetic unlabelled inputs of its raw size: timingSamples, else min(samples, 30)', () => {
    const timing = { ...tiny, timingOnly: true } as Manifest;
    const w = workInputs(timing, data, 100);
    expect(w.inputs.length).toBe(30);
    expect(w.labels).toEqual(new Array(30).fill(null));
    expect(w.inputs[0]!.length).toBe(tiny.input.raw.shape.reduce((a, x) => a * x, 1));
    expect(workInputs(timing, data, 100, 4).inputs.length).toBe(4);
    expect(workInputs(timing, data, 5).inputs.length).toBe(5);
  });
});

describe('bundleInfo', () => {
  it("states the bundle's default rate point, recommended threshold and split accuracy", () => {
    expect(bundleInfo({ dir: TINY, manifest: tiny, inputs: [], labels: [] })).toEqual({
      id: 'tiny',
      dir: TINY,
      timingOnly: false,
      ratePoint: tiny.bottleneck.ratePoints[tiny.bottleneck.defaultRatePoint]!.id,
      threshold: tiny.exits[0]!.recommendedThreshold,
      splitAccuracy: tiny.accuracy?.splitByRate ?? null,
    });
  });
});

describe('bundleMacs', () => {
  it('adds the exits to the head; none without MACs', () => {
    expect(bundleMacs(tiny)).toEqual({ head: 12544, full: 23520 });
    expect(bundleMacs({ ...tiny, macs: { head: 10, exits: 5, full: 100 } } as Manifest)).toEqual({ head: 15, full: 100 });
    expect(bundleMacs({ ...tiny, macs: undefined })).toEqual({ head: undefined, full: undefined });
  });
});

describe('modelSamples', () => {
  const results = [
    result({ label: 1 }),
    result({ label: 3, path: 'exit:0', bytesUp: 0, payloadBytes: 0 }, { busy: 0 }),
    result({ label: 0, path: 'fallback', reason: 'timeout', ratePoint: 's1', bytesUp: 0, payloadBytes: 33 }),
  ];
  const macs = bundleMacs(tiny);
  it('takes the latency the run reported, scores against the labels, and counts only payloads that left the device', () => {
    const got = modelSamples(run(results), [1, 2, null], { asReported: true, device: mcu, link: 'lte', periodMs: 0, macs });
    expect(got.map(({ energyJ: _, ...rest }) => rest)).toEqual([
      { correct: true, path: 'edge', payloadBytes: 40, crossed: true, latencyMs: 11.5 },
      { correct: false, path: 'exit:0', payloadBytes: 0, crossed: false, latencyMs: 11.5 },
      { correct: null, path: 'fallback', reason: 'timeout', ratePoint: 's1', payloadBytes: 0, crossed: false, latencyMs: 11.5 },
    ]);
    // Its energy is re-modelled all the same (the run's own report is not read).
    expect(got.map((g) => g.energyJ)).toEqual(
      modelSamples(run(results), [1, 2, null], { asReported: false, device: mcu, link: 'lte', periodMs: 0, macs }).map((g) => g.energyJ),
    );
  });
  it('re-models host measurements for a device class with the same function as remodel(), the first transfer waking the radio', () => {
    const got = modelSamples(run(results), [1, 2, null], { asReported: false, device: mcu, link: 'lte', periodMs: 0, macs });
    for (const [i, r] of results.entries()) {
      const want = remodel(r, mcu, 'lte', 0, macs, i === 0);
      expect([got[i]!.latencyMs, got[i]!.energyJ]).toEqual([want.latencyMs, want.energyJ]);
    }
    // mcu: the head's compute is its MACs at the class's throughput, plus encoding and the round trip.
    expect(got[0]!.latencyMs).toBeCloseTo((12544 / mcu.macsPerSecond!) * 1000 + 0.5 + 10, 9);
  });
});

describe('modelTimeline: the radio wakes on the modelled timeline', () => {
  const promotions = (...args: Parameters<typeof modelTimeline>): boolean[] => modelTimeline(...args).map((t) => t.promoted);
  const edge = result();
  const exit = result({ path: 'exit:0', bytesUp: 0, bytesDown: 0 }, { busy: 0 });
  const macs = bundleMacs(tiny);
  const wifiTail = RADIOS.wifi.tailMs;
  it('the first transfer, and the next only once the idle time since the last one passed the tail', () => {
    // Back to back on mcu: each exit is the head's MACs at its throughput, so count how many fill the tail.
    const exitMs = remodel(exit, mcu, 'wifi', 0, macs).latencyMs;
    const fill = Math.ceil(wifiTail / exitMs);
    expect(promotions([edge, edge, exit, edge], mcu, 'wifi', 0, macs)).toEqual([true, false, false, false]);
    expect(promotions([edge, ...new Array<InferResult>(fill - 1).fill(exit), edge], mcu, 'wifi', 0, macs).filter(Boolean)).toEqual([true]);
    expect(promotions([edge, ...new Array<InferResult>(fill + 1).fill(exit), edge], mcu, 'wifi', 0, macs).filter(Boolean)).toEqual([true, true]);
  });
  it('an app that infers once per period longer than the tail wakes the radio every time', () => {
    expect(promotions([edge, edge, edge], mcu, 'wifi', wifiTail + 1000, macs)).toEqual([true, true, true]);
    expect(promotions([edge, exit, edge], mcu, 'lte', 1000, macs)).toEqual([true, false, false]); // LTE's tail is seconds long
  });
  it('charges the promotion in the energy: promotion power × time, on top of the same transfer', () => {
    const radio = RADIOS.wifi;
    const d = remodel(edge, mcu, 'wifi', 0, macs, true).energyJ - remodel(edge, mcu, 'wifi', 0, macs, false).energyJ;
    expect(d).toBeCloseTo((radio.promotionMw * radio.promotionMs) / 1e6, 12);
  });
});

describe('tally', () => {
  it('counts values, skipping undefined', () => {
    expect(tally([sample(), sample({ path: 'exit:0' }), sample()], (s) => s.path)).toEqual({ edge: 2, 'exit:0': 1 });
    expect(tally([sample(), sample({ reason: 'timeout' })], (s) => s.reason)).toEqual({ timeout: 1 });
  });
});

describe('summarize', () => {
  const samples = [
    sample({ latencyMs: 4, energyJ: 0.001, ratePoint: 's1' }),
    sample({ latencyMs: 2, correct: false, path: 'exit:0', crossed: false, payloadBytes: 0, energyJ: 0.003 }),
    sample({ latencyMs: 6, correct: null, path: 'fallback', reason: 'timeout', crossed: false, payloadBytes: 0, energyJ: 0.002 }),
    sample({ latencyMs: 8, ratePoint: 's1', payloadBytes: 20 }),
  ];
  it('gives means per inference, percentiles, counts, the pilot and the provenance', () => {
    const row = summarize('tiny', slow, mcu, 'split-exit', run([], { wireUp: 400, wireDown: 100, lanes: 3, pilot: 2 }), samples);
    expect(row).toEqual({
      bundle: 'tiny',
      link: 'slow',
      device: 'mcu',
      strategy: 'split-exit',
      samples: 4,
      accuracy: 2 / 3,
      exitRate: 0.25,
      payloadBytesUp: 15,
      wireBytesUp: 100,
      wireBytesDown: 25,
      requestsPerInference: 0.5,
      latencyMsMean: 5,
      latencyMsP50: row.latencyMsP50,
      latencyMsP95: row.latencyMsP95,
      latencyMsP99: row.latencyMsP99,
      energyJ: 0.002,
      paths: { edge: 2, 'exit:0': 1, fallback: 1 },
      fallbacks: { timeout: 1 },
      ratePoints: { s1: 2 },
      measured: { accuracy: 'measured', bytes: 'measured', latency: 'modelled', energy: 'modelled' },
      lanes: 3,
      pilotSamples: 2,
      pilotLatencyMsMean: 3,
    });
    expect(row.latencyMsP50).toBeGreaterThanOrEqual(4);
    expect(row.latencyMsP50).toBeLessThanOrEqual(6);
    expect(row.latencyMsP99).toBeLessThanOrEqual(8);
    expect(row.latencyMsP99).toBeGreaterThanOrEqual(row.latencyMsP95);
  });
  it('has no accuracy without labels, measured latency on host, and NaN pilot latency without a pilot', () => {
    const row = summarize('t', slow, host, 'local', run([], { pilot: 0 }), [sample({ correct: null })]);
    expect([row.accuracy, row.measured.latency, row.pilotSamples, row.pilotLatencyMsMean]).toEqual([null, 'measured', 0, NaN]);
  });
});

describe('oracleRow', () => {
  const row = (strategy: BenchRow['strategy'], latencyMsMean: number, energyJ: number): BenchRow => ({
    ...summarize('t', slow, host, strategy, run([]), [sample()]),
    latencyMsMean,
    energyJ,
  });
  it("is the fastest baseline's row with the lowest energy of any, naming both", () => {
    const rows = [row('local', 9, 0.001), row('offload', 3, 0.01), row('split', 5, 0.004), row('split-exit', 3, 0.002)];
    expect(oracleRow(rows)).toEqual({ ...rows[1], strategy: 'oracle', energyJ: 0.001, oracleOf: { latency: 'offload', energy: 'local' } });
  });
});

describe('linkFidelity', () => {
  it('does not measure a link with outages: configured figures, NaN measured, ok', async () => {
    expect(await linkFidelity(LINKS.offline!)).toEqual({
      link: 'offline',
      configured: { upMbps: 1, downMbps: 1, rttMs: 50 },
      measured: { upMbps: NaN, downMbps: NaN, rttMs: NaN, rttMedianMs: NaN },
      ok: true,
    });
  });
});

/** A small result: every strategy on one link for host (local 9 ms, offload 3 ms, split 5 ms, split-exit 4 ms, adaptive 3.1 ms). */
function smallResult(): BenchResult {
  const row = (strategy: BenchRow['strategy'], latencyMsMean: number): BenchRow => ({
    ...summarize('tiny', slow, host, strategy, run([]), [sample()]),
    latencyMsMean,
  });
  const base = [row('local', 9), row('offload', 3), row('split', 5), row('split-exit', 4)];
  return {
    rows: [...base, row('adaptive', 3.1), row('adaptive:energy', 4), oracleRow(base)],
    links: [
      {
        link: 'slow',
        configured: { upMbps: 20, downMbps: 20, rttMs: 60 },
        measured: { upMbps: 19.5, downMbps: 19.9, rttMs: 60.4, rttMedianMs: 61 },
        ok: true,
        source: 'custom',
        radio: 'LTE',
      },
    ],
    devices: [host],
    radios: RADIOS,
    periodMs: 0,
    bundles: [bundleInfo({ dir: TINY, manifest: tiny, inputs: [], labels: [] })],
    seconds: 4.4,
  };
}

describe('plots', () => {
  it('draws every strategy but the oracle, with the configured uplink and energy in mJ', () => {
    const rows = plotRows(smallResult());
    expect(rows.map((r) => [r.strategy, r.upMbps, r.energyMj])).toEqual(
      ['local', 'offload', 'split', 'split-exit', 'adaptive', 'adaptive:energy'].map((s) => [s, 20, 2]),
    );
  });
  it("takes exit points from the first exit's table against the default rate point's accuracy; no exit plot without", () => {
    const m = tiny;
    const split = m.bottleneck.ratePoints[m.bottleneck.defaultRatePoint]!.accuracy!;
    const points = exitPoints([m]);
    expect(points.length).toBe(m.exits[0]!.thresholds.length);
    expect(points[0]).toEqual({
      bundle: 'tiny',
      threshold: m.exits[0]!.thresholds[0]!.threshold,
      exitRate: m.exits[0]!.thresholds[0]!.exitRate,
      lossPt: (split - m.exits[0]!.thresholds[0]!.overallAccuracy) * 100,
    });
    expect(reportPlots(smallResult(), [m]).map(([name, title]) => [name, title])).toEqual([
      ['latency-vs-uplink.svg', 'Latency vs uplink bandwidth'],
      ['energy.svg', 'Energy per strategy and link'],
      ['exit-rate.svg', 'Exit rate vs accuracy loss'],
    ]);
    expect(reportPlots(smallResult(), [{ ...m, exits: [] }]).length).toBe(2);
  });
});

describe('report sections', () => {
  const env = { cpu: 'Test CPU', cores: 2, node: 'v22.0.0', commit: 'abc1234', date: '2025-01-01', packages: { ws: '8.18.0', vega: 'not installed' } };
  it('opens with the command, the environment, provenance and the plots', () => {
    const md = headerSection(smallResult(), env, 'offramp bench --x', [['a.svg', 'A']]);
    expect(md.slice(0, 4)).toEqual(['# Offramp benchmark report', '', 'Command: `offramp bench --x`', '']);
    expect(md[4]).toBe('Environment: Test CPU × 2 cores, Node v22.0.0, commit abc1234, 2025-01-01; packages ws 8.18.0, vega not installed. Run took 4 s.');
    expect(md[6]).toContain('One inference every — (back to back) ms.');
    expect(md.slice(-2)).toEqual(['![A](a.svg)', '']);
  });
  it('writes a results row with path shares, the oracle choices and the provenance of latency', () => {
    const r = smallResult().rows.find((x) => x.strategy === 'oracle')!;
    expect(resultRow(r)).toBe(
      '| tiny | slow | host | oracle (latency: offload, energy: local) | 100.00% | 0.00% | 40.0 | 600.0 / 200.0 | 3.00 / 10.00 / 10.00 / 10.00 (measured) | 2.00 (modelled) | edge 100% | 2 (1 × 10.00) |',
    );
    expect(resultsSection([r]).at(-1)).toBe(resultRow(r));
  });
  it('marks an outage link n/a, a measured device class as measured', () => {
    const links = [{ ...smallResult().links[0]!, measured: { upMbps: NaN, downMbps: NaN, rttMs: NaN, rttMedianMs: NaN } }];
    expect(linksSection(links).at(-1)).toBe('| slow | 20 / 20, 60 | n/a (outage) | n/a | LTE | custom |');
    expect(linksSection(smallResult().links).at(-1)).toBe('| slow | 20 / 20, 60 | 19.50 / 19.90, 60.4 (median 61.0) | yes | LTE | custom |');
    expect(devicesSection([host]).at(-1)).toMatch(/^\| host \(.*\) \| measured \| /);
  });
  it('lists the target checks, and the whole report is the sections in order ending in a newline', () => {
    const targets = targetsSection(smallResult());
    expect(targets.slice(0, 4)).toEqual(['## Targets', '', '| check | value | pass |', '|---|---|---|']);
    expect(targets[4]).toBe('| tiny on host: adaptive latency ≤ 1.05 × oracle on every link | slow 1.033 | yes |');
    expect(targets.length).toBe(8);
    const md = reportMarkdown(smallResult(), env, 'c', []);
    expect(md.endsWith('\n')).toBe(true);
    const order = ['# Offramp benchmark report', '## Targets', '## Results', '## Links', '## Device classes', '## Radio power models'].map((h) =>
      md.indexOf(h),
    );
    expect(order.every((x, i) => x >= 0 && (i === 0 || x > order[i - 1]!))).toBe(true);
  });
});
