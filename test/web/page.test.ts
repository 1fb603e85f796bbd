/**
 * The page's pure parts, in Node: what the policy preview says (thresholds, the expected way and
 * the defaults it picks), run summaries, axis ticks and number formats, and the build step that
 * cuts the demo's images out of the test split.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { InferResult } from '../../head/device.js';
import { LINKS, linkFigures } from '../../link/profiles.js';
import { manifestFromBytes } from '../../protocol/bundle-files.js';
import type { Manifest } from '../../protocol/manifest.js';
import { idxHead } from '../../web/build-plugins.js';
import { latencyStripHtml, logTicks } from '../../web/charts.js';
import { bytes, energy, ms, pct } from '../../web/format.js';
import { expectedWay, exitPreview, suggestDefaults, type LinkFigures } from '../../web/preview.js';
import { kindOf, summarize, type Answer } from '../../web/summary.js';

const ROOT = join(import.meta.dirname, '..', '..');
const tiny = manifestFromBytes(readFileSync(join(ROOT, 'test', 'fixtures', 'tiny', 'manifest.json')));
const links: Record<string, LinkFigures> = Object.fromEntries(Object.entries(LINKS).map(([k, l]) => [k, linkFigures(l)]));

/** tiny with a real Fashion-MNIST CNN's MAC counts (fmnist-b32's) and exits that take most images. */
const large: Manifest = {
  ...tiny,
  macs: { head: 8_843_392, tail: 30_582_016, full: 36_353_792 },
  exits: [
    {
      ...tiny.exits[0]!,
      thresholds: [
        { threshold: 0.5, exitRate: 0.98, exitAccuracy: 0.915, overallAccuracy: 0.909 },
        { threshold: 0.9, exitRate: 0.8, exitAccuracy: 0.97, overallAccuracy: 0.915 },
        { threshold: 0.99, exitRate: 0.5, exitAccuracy: 0.99, overallAccuracy: 0.92 },
      ],
    },
  ],
  bottleneck: { ...tiny.bottleneck, ratePoints: tiny.bottleneck.ratePoints.map((rp) => ({ ...rp, accuracy: 0.92 })) },
};

describe('the policy preview', () => {
  it('turns the accuracy budget into the exit threshold and its calibrated exit rate', () => {
    // tiny's exits are calibrated with the split model at its default rate point, s1 (0.765):
    // every row stays within half a point of it, so the lowest threshold (the manifest's
    // recommended one) is the budget's.
    expect(exitPreview(tiny, 0.005)).toEqual([{ threshold: 0.5, exitRate: 0.846, overallAccuracy: 0.777999997138977, reference: 0.7649999856948853 }]);
    expect(tiny.exits[0]!.recommendedThreshold).toBe(0.5);
    // With u4 (0.792) as the default, half a point below (0.787) no row reaches: the last row.
    const u4 = { ...tiny, bottleneck: { ...tiny.bottleneck, defaultRatePoint: 1 } };
    expect(exitPreview(u4, 0.005)).toEqual([{ threshold: 0.99, exitRate: 0.107, overallAccuracy: 0.7649999856948853, reference: 0.7919999957084656 }]);
    // 1.25 points: 0.7795 and up, rows 0.6 (0.781) but not 0.5 (0.778).
    expect(exitPreview(u4, 0.0125).map((e) => [e.threshold, e.exitRate])).toEqual([[0.6, 0.757]]);
    expect(exitPreview(u4, 0.02).map((e) => [e.threshold, e.exitRate])).toEqual([[0.5, 0.846]]);
    expect(exitPreview(large, 0.005).map((e) => [e.threshold, e.exitRate])).toEqual([[0.9, 0.8]]);
  });

  it('expects a slow device to send raw images over a fast link and to keep its work on a slow one', () => {
    expect(expectedWay(large, 'mcu', links.wifi!, 0.005)?.way).toBe('full');
    expect(expectedWay(large, 'mcu', links['3g']!, 0.005)?.way).toBe('split');
    expect(expectedWay(large, 'phone-mid', links['3g']!, 0.005)?.way).toBe('local');
    // A measured device has no preview.
    expect(expectedWay(large, 'host', links.wifi!, 0.005)).toBeUndefined();
    const w = expectedWay(large, 'mcu', links['3g']!, 0.005)!;
    // mcu: 36.4 M MAC at 0.139 GMAC/s.
    expect(w.ms.local).toBeCloseTo((36_353_792 / 1.39e8) * 1000, 6);
    expect(w.margin).toBeGreaterThan(1);
  });

  it('starts on a shaped link where the policy clearly offloads, else where its choice is clearest', () => {
    const d = suggestDefaults(large, links, 0.005);
    expect(d.way).not.toBe('local');
    expect(['loopback', 'offline']).not.toContain(d.link);
    expect(expectedWay(large, d.device, links[d.link]!, 0.005)!.margin).toBeGreaterThanOrEqual(1.3);
    // tiny computes in microseconds anywhere: only local answers are clear.
    expect(suggestDefaults(tiny, links, 0.005).way).toBe('local');
  });
});

const result = (over: Partial<InferResult>): InferResult => ({
  label: 0,
  labelName: 'a',
  confidence: 1,
  path: 'local',
  payloadBytes: 0,
  bytesUp: 0,
  bytesDown: 0,
  timings: { head: 0, encode: 0, network: 0, server: { queue: 0, decode: 0, compute: 0 }, local: 0, total: 0 },
  energy: { computeJ: 0, radioJ: 0, totalJ: 0, model: '' },
  measured: { head: 0, encode: 0, busy: 0, local: 0, wall: 0 },
  ...over,
});

describe('run summaries', () => {
  it('names the five kinds of answer', () => {
    expect(kindOf({ path: 'exit:0' })).toBe('exit');
    expect(kindOf({ path: 'edge', ratePoint: 's1' })).toBe('split');
    expect(kindOf({ path: 'edge', ratePoint: 'input' })).toBe('full');
    expect(kindOf({ path: 'local' })).toBe('local');
    expect(kindOf({ path: 'fallback', ratePoint: 'input' })).toBe('fallback');
  });

  it('sums accuracy, shares, latency quantiles, energy and bytes per image', () => {
    const answers: Answer[] = [
      {
        index: 0,
        truth: 0,
        result: result({ path: 'exit:0', timings: { ...result({}).timings, total: 1 }, energy: { computeJ: 0.001, radioJ: 0, totalJ: 0.001, model: '' } }),
      },
      {
        index: 1,
        truth: 1,
        result: result({
          path: 'edge',
          ratePoint: 's1',
          payloadBytes: 12,
          bytesUp: 26,
          bytesDown: 10,
          timings: { ...result({}).timings, total: 3 },
          energy: { computeJ: 0, radioJ: 0.003, totalJ: 0.003, model: '' },
        }),
      },
      { index: 2, truth: 0, result: result({ path: 'local', timings: { ...result({}).timings, total: 5 } }) },
      { index: 3, truth: 0, result: result({ path: 'edge', ratePoint: 'input', bytesUp: 42, bytesDown: 10, timings: { ...result({}).timings, total: 7 } }) },
    ];
    const s = summarize(answers);
    expect(s.n).toBe(4);
    expect(s.correct).toBe(3);
    expect(s.share).toEqual({ exit: 0.25, split: 0.25, full: 0.25, local: 0.25, fallback: 0 });
    expect(s.latency).toEqual({ p50: 4, p90: 6.4, mean: 4 });
    expect(s.energyJ).toBeCloseTo(0.001, 12);
    expect([s.payloadBytes, s.bytesUp, s.bytesDown]).toEqual([3, 17, 5]);
    expect(summarize([]).latency).toEqual({ p50: 0, p90: 0, mean: 0 });
  });
});

describe('formats and ticks', () => {
  it("writes times to the clock's 0.1 ms, energy in mJ or µJ, bytes and shares", () => {
    expect([ms(0), ms(0.03), ms(12.345), ms(154.6)]).toEqual(['0.0', '<0.1', '12.3', '155']);
    expect([energy(0.2263), energy(0.0123), energy(0.00009), energy(0)]).toEqual(['226 mJ', '12.3 mJ', '90 µJ', '0.00 mJ']);
    expect([bytes(22), bytes(12_345), bytes(14_239_897)]).toEqual(['22 B', '12 kB', '14.2 MB']);
    expect([pct(0.004), pct(0.107), pct(1)]).toEqual(['0.4%', '11%', '100%']);
  });

  it('puts log-axis ticks at 1-2-5 steps within the range, labelling only decades on a wide axis', () => {
    expect(logTicks(0.1, 1000)).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    expect(logTicks(1, 10)).toEqual([1, 2, 5, 10]);
    const at = (total: number): Answer => ({ index: 0, truth: 0, result: result({ timings: { ...result({}).timings, total } }) });
    const labels = (html: string): string[] => [...html.matchAll(/class="tick"[^>]*>([^<]*)</g)].map((m) => m[1]!);
    expect(labels(latencyStripHtml([{ label: 'a', answers: [at(0.02), at(150)] }]))).toEqual(['0.01', '0.1', '1', '10', '100', '1000']);
    expect(labels(latencyStripHtml([{ label: 'a', answers: [at(2), at(7)] }]))).toEqual(['1', '2', '5', '10']);
    // One strip per run, one dot per answer.
    expect(
      latencyStripHtml([
        { label: 'a', answers: [at(1), at(2)] },
        { label: 'b', answers: [at(3)] },
      ]).match(/class="dot /g),
    ).toHaveLength(3);
  });
});

describe('the demo images (build step)', () => {
  it('keeps the first n images and labels of the test split, count rewritten', () => {
    const dir = join(ROOT, 'data', 'fashion-mnist');
    const images = idxHead(readFileSync(join(dir, 't10k-images-idx3-ubyte.gz')), 3);
    const all = gunzipSync(readFileSync(join(dir, 't10k-images-idx3-ubyte.gz')));
    expect(images.length).toBe(16 + 3 * 784);
    expect(new DataView(images.buffer).getUint32(4, false)).toBe(3);
    expect(Buffer.from(images.subarray(8)).equals(all.subarray(8, 16 + 3 * 784))).toBe(true);
    const labels = idxHead(readFileSync(join(dir, 't10k-labels-idx1-ubyte.gz')), 3);
    expect([...labels.subarray(8)]).toEqual([9, 2, 1]);
  });
});
