/**
 * `offramp eval` (split/eval.ts, cli/eval.ts) on the tiny v2 bundle: the committed test set
 * through onnxruntime head → exit → the TS codec at each rate point → onnxruntime tail, against
 * what the Python exporter measured on the same images (manifest.json, golden.json).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadZstd } from '../../bottleneck/zstd-native.js';
import { evalCommand, EVAL_OPTIONS } from '../../cli/eval.js';
import { resolveOptions } from '../../cli/options.js';
import { loadBundle } from '../../protocol/bundle.js';
import type { Manifest } from '../../protocol/manifest.js';
import { evaluateBundle, quantile, ratePointIndex, type EvalResult } from '../../split/eval.js';
import { TINY, tinyGolden } from '../tail/client.js';

/** Elements of the tiny bundle's latent [2, 7, 7]. */
const LATENT = 2 * 7 * 7;

let manifest: Manifest;
let tmp: string;
beforeAll(async () => {
  manifest = (await loadBundle(TINY)).manifest;
  tmp = await mkdtemp(join(tmpdir(), 'offramp-eval-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('evaluateBundle over the whole test split, per rate point', () => {
  const whole: Record<string, EvalResult> = {};
  beforeAll(async () => {
    for (const id of ['s1', 'u4', 'f16']) whole[id] = await evaluateBundle({ bundle: TINY, rate: id });
  }, 120_000);

  it("s1 (entropy): payload sizes equal the exporter's on the same 10,000 images, exactly (mean, p99, max, estimate)", () => {
    const r = whole.s1!;
    const bytes = manifest.bottleneck.ratePoints[0]!.bytes!;
    expect(bytes.over).toBe('test (10000)');
    expect(r).toMatchObject({ bundle: 'tiny', ratePoint: 's1', codec: 'entropy', samples: 10000 });
    expect(r.payloadBytesMean).toBe(bytes.mean); // 13.0324 = 130,324 B / 10,000
    expect(r.payloadBytesP99).toBe(bytes.p99);
    expect(r.payloadBytesMax).toBe(bytes.max);
    expect(r.estimatedBytesMean).toBe(bytes.estimated);
  });

  it('u4 and f16: fixed sizes, ⌈98 × 4 / 8⌉ = 49 B and 98 × 2 = 196 B; no entropy estimate', () => {
    expect(whole.u4).toMatchObject({
      ratePoint: 'u4',
      codec: 'uniform',
      payloadBytesMean: Math.ceil((LATENT * 4) / 8),
      payloadBytesP99: 49,
      payloadBytesMax: 49,
      estimatedBytesMean: null,
    });
    expect(whole.f16).toMatchObject({
      ratePoint: 'f16',
      codec: 'float16',
      payloadBytesMean: LATENT * 2,
      payloadBytesP99: 196,
      payloadBytesMax: 196,
      estimatedBytesMean: null,
    });
  });

  it("agrees with PyTorch on ≥ 99.9% of split predictions, and reproduces the manifest's test accuracies", () => {
    for (const [id, r] of Object.entries(whole)) {
      expect(r.samples).toBe(10000);
      expect(r.agreementWithPyTorch).toBeGreaterThanOrEqual(0.999);
      // onnxruntime and PyTorch may differ in the last float bits: allow 5 of 10,000 predictions
      // (the manifest stores float32 accuracies: 0.7763 is 0.7763000130653381 there).
      expect(Math.abs(r.splitAccuracy - manifest.accuracy!.splitByRate[id]!)).toBeLessThanOrEqual(0.0005);
      expect(Math.abs(r.teacherAccuracy - manifest.accuracy!.teacher)).toBeLessThanOrEqual(0.0005);
    }
  });

  it('reports the default exit threshold, MACs, and the same exits and teacher at every rate point', () => {
    for (const r of Object.values(whole)) {
      expect(r).toMatchObject({ threshold: 0.5, headMacs: 12544, teacherMacs: 23520 });
      expect(r.exitRate).toBe(whole.s1!.exitRate);
      expect(r.exitAccuracy).toBe(whole.s1!.exitAccuracy);
      expect(r.teacherAccuracy).toBe(whole.s1!.teacherAccuracy);
      expect(r.seconds).toBeGreaterThan(0);
    }
    // f16 decodes the latent to within float16 precision: the split model is the full model here.
    expect(whole.f16!.splitAccuracy).toBe(whole.f16!.teacherAccuracy);
  });

  it("defaults to the manifest's default rate point", async () => {
    const r = await evaluateBundle({ bundle: TINY, limit: 200 });
    expect(r.ratePoint).toBe(manifest.bottleneck.ratePoints[manifest.bottleneck.defaultRatePoint]!.id);
  });
});

describe('evaluateBundle on the golden images', () => {
  it("payload sizes of the first images equal the reference coder's payloads (golden.json), at batch size 1", async () => {
    const g = await tinyGolden();
    const n = g.rates.s1.payloads.length;
    expect(n).toBe(4);
    const mean = g.rates.s1.payloads.reduce((a, h) => a + h.length / 2, 0) / n; // (10 + 20 + 20 + 16) / 4
    expect(mean).toBe(16.5);
    for (const batchSize of [1, 250]) {
      const r = await evaluateBundle({ bundle: TINY, rate: 's1', limit: n, batchSize });
      expect(r.samples).toBe(n);
      expect(r.payloadBytesMean).toBe(mean);
      expect(r.payloadBytesMax).toBe(Math.max(...g.rates.s1.payloads.map((h) => h.length / 2)));
      expect(r.agreementWithPyTorch).toBe(1);
    }
  });
});

describe('exit thresholds', () => {
  it('above 1 never exits: accuracy is the split accuracy', async () => {
    const never = await evaluateBundle({ bundle: TINY, threshold: 1.01, limit: 500 });
    expect(never).toMatchObject({ samples: 500, exitRate: 0, exitAccuracy: 1, threshold: 1.01 });
    expect(never.accuracy).toBe(never.splitAccuracy);
  });
  it('0 always exits: accuracy is the exit accuracy', async () => {
    const always = await evaluateBundle({ bundle: TINY, threshold: 0, limit: 500 });
    expect(always.exitRate).toBe(1);
    expect(always.accuracy).toBe(always.exitAccuracy);
  });
});

describe('zstd', () => {
  it('never wraps an entropy-coded payload (the sizes stay those without zstd)', async () => {
    const zstd = await loadZstd();
    const plain = await evaluateBundle({ bundle: TINY, rate: 's1', limit: 300 });
    const wrapped = await evaluateBundle({ bundle: TINY, rate: 's1', limit: 300, zstd });
    expect(wrapped.payloadBytesMean).toBe(plain.payloadBytesMean);
    expect(wrapped.payloadBytesMax).toBe(plain.payloadBytesMax);
    expect(wrapped.splitAccuracy).toBe(plain.splitAccuracy);
  });
  it('keeps a float16 payload only when smaller, and decodes it back to the same predictions', async () => {
    const zstd = await loadZstd();
    const plain = await evaluateBundle({ bundle: TINY, rate: 'f16', limit: 300 });
    const wrapped = await evaluateBundle({ bundle: TINY, rate: 'f16', limit: 300, zstd });
    expect(wrapped.payloadBytesMax).toBeLessThanOrEqual(196);
    expect(wrapped.payloadBytesMean).toBeLessThanOrEqual(plain.payloadBytesMean);
    expect(wrapped.splitAccuracy).toBe(plain.splitAccuracy);
    expect(wrapped.agreementWithPyTorch).toBe(plain.agreementWithPyTorch);
  });
});

describe('ratePointIndex', () => {
  it('takes an id, an index, or nothing (the default)', () => {
    expect(ratePointIndex(manifest, 's1')).toBe(0);
    expect(ratePointIndex(manifest, 'u4')).toBe(1);
    expect(ratePointIndex(manifest, 'f16')).toBe(2);
    expect(ratePointIndex(manifest, '2')).toBe(2);
    expect(ratePointIndex(manifest, '0')).toBe(0);
    expect(ratePointIndex(manifest, undefined)).toBe(manifest.bottleneck.defaultRatePoint);
    expect(ratePointIndex({ ...manifest, bottleneck: { ...manifest.bottleneck, defaultRatePoint: 1 } }, undefined)).toBe(1);
  });
  it('refuses anything else with a RangeError naming the rate points', () => {
    for (const bad of ['u8', '3', '-1', '1.5', '', ' 1', '0x1', '1e0']) {
      expect(() => ratePointIndex(manifest, bad)).toThrow(new RangeError(`tiny has no rate point ${JSON.stringify(bad)} (it has s1, u4, f16)`));
    }
  });
  it('evaluateBundle refuses an unknown rate point before running anything', async () => {
    await expect(evaluateBundle({ bundle: TINY, rate: 'u8' })).rejects.toThrow(new RangeError('tiny has no rate point "u8" (it has s1, u4, f16)'));
  });
});

describe('quantile (nearest rank)', () => {
  it('picks ranks ⌈q·n⌉ of the sorted values, clamped', () => {
    const xs = [5, 1, 3, 2, 4];
    expect(quantile(xs, 0)).toBe(1);
    expect(quantile(xs, 0.5)).toBe(3);
    expect(quantile(xs, 0.99)).toBe(5);
    expect(quantile(xs, 1)).toBe(5);
    expect(
      quantile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        0.99,
      ),
    ).toBe(99);
    expect(quantile([], 0.5)).toBe(0);
    expect(xs).toEqual([5, 1, 3, 2, 4]); // not sorted in place
  });
});

describe('offramp eval (evalCommand)', () => {
  it('prints a summary and writes the result as JSON', async () => {
    const file = join(tmp, 'out.json');
    const out: string[] = [];
    const err: string[] = [];
    const code = await evalCommand(
      { bundle: TINY, rate: 'u4', limit: '300', json: file },
      (s) => out.push(s),
      (s) => err.push(s),
    );
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text.split('\n')[0]).toBe('tiny: 300 test samples at rate point u4 (uniform), exit threshold 0.5');
    expect(text).toContain('payload 49.00 B mean, 49 B p99, 49 B max');
    expect(text).toContain("MACs: head + exits 12,544 (53.33% of the teacher's 23,520)");
    const j = JSON.parse(await readFile(file, 'utf8')) as EvalResult;
    expect(Object.keys(j).sort()).toEqual([
      'accuracy',
      'agreementWithPyTorch',
      'bundle',
      'codec',
      'estimatedBytesMean',
      'exitAccuracy',
      'exitRate',
      'headMacs',
      'payloadBytesMax',
      'payloadBytesMean',
      'payloadBytesP99',
      'ratePoint',
      'samples',
      'seconds',
      'splitAccuracy',
      'teacherAccuracy',
      'teacherMacs',
      'threshold',
    ]);
    expect(j).toMatchObject({ bundle: 'tiny', ratePoint: 'u4', codec: 'uniform', samples: 300, payloadBytesMax: 49, threshold: 0.5 });
  });

  it("states the entropy model's estimate for an entropy rate point", async () => {
    const out: string[] = [];
    expect(
      await evalCommand(
        { bundle: TINY, limit: '100', threshold: '0.9' },
        (s) => out.push(s),
        () => {},
      ),
    ).toBe(0);
    expect(out.join('\n')).toMatch(/^tiny: 100 test samples at rate point s1 \(entropy\), exit threshold 0\.9\n/);
    expect(out.join('\n')).toContain('B mean (the entropy model estimates 12.71 B)');
  });

  it('refuses bad options with exit code 1 and one message', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'offramp eval: RangeError: --bundle <dir> is required'],
      [{ bundle: TINY, limit: '0' }, 'offramp eval: RangeError: --limit must be a positive integer, got "0"'],
      [{ bundle: TINY, threshold: '-0.1' }, 'offramp eval: RangeError: --threshold must be a number ≥ 0, got "-0.1"'],
      [{ bundle: TINY, rate: 'u8' }, 'offramp eval: RangeError: tiny has no rate point "u8" (it has s1, u4, f16)'],
    ];
    for (const [flags, message] of cases) {
      const out: string[] = [];
      const err: string[] = [];
      expect(
        await evalCommand(
          flags,
          (s) => out.push(s),
          (s) => err.push(s),
        ),
      ).toBe(1);
      expect(err).toEqual([message]);
      expect(out).toEqual([]);
    }
  });

  it('names a folder without a bundle by its error code', async () => {
    const err: string[] = [];
    expect(
      await evalCommand(
        { bundle: tmp },
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^offramp eval: BUNDLE_FILE_MISSING: /);
  });

  it('options: --zstd is off unless given; --rate is a string, --limit an integer', () => {
    expect(resolveOptions(EVAL_OPTIONS, {})).toEqual({ zstd: false });
    expect(resolveOptions(EVAL_OPTIONS, { bundle: 'b', rate: '1', limit: '7', zstd: true, threshold: '0.25' })).toEqual({
      bundle: 'b',
      rate: '1',
      limit: 7,
      zstd: true,
      threshold: 0.25,
    });
  });
});
