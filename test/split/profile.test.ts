import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DEVICE_CLASSES } from '../../head/devices.js';
import { LINKS } from '../../link/profiles.js';
import type { Agreement } from '../../split/agreement.js';
import { candidateCuts, readModel } from '../../split/graph.js';
import { measureCut } from '../../split/measure.js';
import { loadModel } from '../../split/model.js';
import { prepareModel } from '../../split/prepare.js';
import { profileMarkdown, profileModel, type ModelProfile } from '../../split/profile.js';
import { parseRates } from '../../split/rates.js';
import { frameLimit, recommend, recommendationTable, requestWireBytes } from '../../split/recommend.js';
import { SEG } from './helpers.js';

describe('profile', () => {
  it('prices every cut of a two-output model: MACs exact, bytes per rate point, answers per encoding', async () => {
    const p = await profileModel(SEG, { shape: [1, 3, 16, 24], runs: 2, samples: 3 });
    const prepared = await prepareModel(await readFile(SEG), { shape: [1, 3, 16, 24] });
    expect(p.cuts.map((c) => c.tensor)).toEqual(candidateCuts(readModel(prepared.bytes)));
    expect(p.cuts.map((c) => [c.tensor, c.shape, c.headMacs])).toEqual([
      ['/conv1/Conv_output_0', [8, 16, 24], 82944], // 8·16·24 outputs × 3·3·3
      ['/Relu_output_0', [8, 16, 24], 82944],
      ['/conv2/Conv_output_0', [12, 8, 12], 165888], // + 12·8·12 × 8·3·3
      ['/Relu_1_output_0', [12, 8, 12], 165888],
      ['/conv3/Conv_output_0', [12, 8, 12], 290304], // + 12·8·12 × 12·3·3
      ['/Relu_2_output_0', [12, 8, 12], 290304],
    ]);
    expect(p.full.macs).toBe(290304 + 96 * 12 + 6 * 12); // + the 1×1 mask conv and the embedding's Gemm
    for (const c of p.cuts) {
      expect(c.headMacs + c.tailMacs).toBe(p.full.macs);
      expect(c.headMs).toBeGreaterThan(0);
      expect(c.headMs + c.tailMs).toBeCloseTo(p.full.ms, 9);
      expect(c.rates.u4!.bytes).toBeLessThan(c.rates.u8!.bytes);
      expect(c.rates.u8!.bytes).toBeLessThan(c.rates.f16!.bytes);
      expect(c.rates.f16!.bytes).toBeLessThan(c.rates.f32!.bytes);
      expect(c.rates.f32!.cosine).toBe(1);
    }
    expect(p.fixes).toEqual(["input 'image': [N, 3, H, W] → [N, 3, 16, 24]"]);
    expect(p.outputs).toEqual([
      { name: 'mask', kind: 'tensor', dtype: 'float32', shape: [1, 8, 12] },
      { name: 'embedding', kind: 'tensor', dtype: 'float32', shape: [6] },
    ]);
    expect(p.raw.bytes).toBe(3 * 16 * 24);
    const a = p.answers.tensors;
    expect(a.fp32).toMatchObject({ cosine: 1, maxAbsError: 0 });
    expect(a.fp32.bytes).toBeGreaterThan(a.fp16.bytes);
    expect(a.fp16.bytes).toBeGreaterThan(a.int8.bytes);
    expect(a.int8.maxAbsError).toBeLessThan(0.01);
    expect(p.answers.label).toBe(0); // no class logits
    expect(profileMarkdown(p)).toContain('Measured on seeded random uint8 noise (3 samples) — not real data: give --data for real figures.');
  }, 60_000);
});

/** A profile with round numbers: 100 M MACs, one cut at 10% of them whose activation codes to 1,000 B at u8. */
function profile(answers: { fp32: number; fp16: number; int8: number; int8Cosine?: number }): ModelProfile {
  const ans = (bytes: number, cosine = 1): { bytes: number; maxBytes: number; cosine: number; maxAbsError: number } => ({
    bytes,
    maxBytes: bytes,
    cosine,
    maxAbsError: 0,
  });
  return {
    model: { path: '/nonexistent.onnx', file: 'm.onnx', sha256: '0'.repeat(64) },
    options: {},
    fixes: [],
    inputName: 'x',
    input: {
      shape: [3, 100, 100],
      layout: 'NCHW',
      normalization: { scale: 1 / 255, mean: [0], std: [1] },
      raw: { dtype: 'uint8', shape: [3, 100, 100], layout: 'CHW' },
    },
    outputs: [{ name: 'y', kind: 'tensor', dtype: 'float32', shape: [1000] }],
    samples: { source: 'data.npy (8 samples)', count: 8, real: true },
    runs: 10,
    full: { ms: 5, macs: 100e6 },
    raw: { bytes: 30000, zstdBytes: 20000 },
    answers: { tensors: { fp32: ans(answers.fp32), fp16: ans(answers.fp16), int8: ans(answers.int8, answers.int8Cosine) }, label: 0 },
    cuts: [
      {
        tensor: 'early',
        shape: [8, 50, 50],
        headMacs: 10e6,
        tailMacs: 90e6,
        headMs: 0.5,
        tailMs: 4.5,
        rawBytes: 80000,
        rates: { u8: { bytes: 1000, maxBytes: 1000, cosine: 0.9999 }, u4: { bytes: 500, maxBytes: 500, cosine: 0.99 } },
      },
      {
        tensor: 'late',
        shape: [16, 10, 10],
        headMacs: 90e6,
        tailMacs: 10e6,
        headMs: 4.5,
        tailMs: 0.5,
        rawBytes: 6400,
        rates: { u8: { bytes: 1600, maxBytes: 1600, cosine: 0.9999 }, u4: { bytes: 800, maxBytes: 800, cosine: 0.99 } },
      },
    ],
    seconds: 1,
  };
}

describe('recommend', () => {
  it('counts both directions: compute on the device class, bytes up and down on the link, edge compute', async () => {
    const p = profile({ fp32: 4000, fp16: 2000, int8: 1000 });
    const r = await recommend(p, { link: LINKS.wifi!, device: 'mcu', objective: 'latency' });
    const mcu = DEVICE_CLASSES.mcu!.macsPerSecond!;
    const dev = r.options.find((o) => o.kind === 'device')!;
    expect(dev.latencyMs).toBeCloseTo((100e6 / mcu) * 1000, 9);
    const early = r.options.find((o) => o.option === 'early @ u4')!;
    // head on the MCU + RTT 10 ms + 500 B (framed) up at 18.88 Mbps + edge 4.5 ms + 1,000 B down at 50 Mbps.
    const up = requestWireBytes(500);
    expect(early).toMatchObject({ upBytes: up, downBytes: 1000, edgeMs: 4.5 });
    expect(early.latencyMs).toBeCloseTo((10e6 / mcu) * 1000 + 10 + (up * 8 * 1000) / 18.88e6 + 4.5 + (1000 * 8 * 1000) / 50e6, 9);
    expect(r.outputEncoding).toBe('int8');
    // An MCU computes 10 M MACs in 72 ms: sending the raw input (20 kB, 8.5 ms on Wi-Fi) wins.
    expect(r.best.kind).toBe('edge');
    expect(r.bestSplit?.option).toBe('early @ u4');
    expect(r.explanation[2]).toMatch(/^Best: send the raw input to the edge — /);
    const sorted = r.options.map((o) => o.latencyMs);
    expect(sorted).toEqual([...sorted].sort((a, b) => a - b));
    expect(recommendationTable(r, 3).split('\n')[2]).toMatch(/^\| edge \| 0\.00 \| 20\.0 kB \| 5\.00 \| 1000 B \| .* \| \*\*best\*\* \|$/);
  });

  it('picks the answer encoding that keeps the bar, and leaves out answers over the frame limit', async () => {
    const big = profile({ fp32: 10e6, fp16: 5e6, int8: 2e6, int8Cosine: 0.98 });
    const r = await recommend(big, { link: LINKS.lte!, device: 'phone-low', objective: 'latency' });
    expect(r.outputEncoding).toBe('fp16'); // int8 keeps only cos 0.98 < 0.99
    expect(frameLimit([16, 10, 10], [3, 100, 100])).toBe(120000 + 4096);
    expect(r.options.find((o) => o.option === 'late @ u8')!.excluded).toBe('answer 5.00 MB > frame limit 124.1 kB');
    expect(r.best.kind).toBe('device'); // every offload's answer is too large
    const asked = await recommend(big, { link: LINKS.lte!, device: 'phone-low', objective: 'latency', outputEncoding: 'int8', minAgreement: 0.95 });
    expect(asked.outputEncoding).toBe('int8');
  });

  it('does not offer a cut whose tail computes nothing as a split', async () => {
    const p = profile({ fp32: 4000, fp16: 2000, int8: 1000 });
    p.cuts[1] = { ...p.cuts[1]!, headMacs: 100e6, tailMacs: 0 };
    const r = await recommend(p, { link: LINKS.wifi!, device: 'phone-mid', objective: 'latency' });
    expect(r.options.find((o) => o.option === 'late @ u4')!.excluded).toBe('the tail computes nothing: this is all on the device');
  });

  it('checks the best cuts on real inputs and passes over those that do not keep the bar', async () => {
    const p = profile({ fp32: 4000, fp16: 2000, int8: 1000 });
    const asked: string[] = [];
    const verify = (cut: string, rates: string[]): Promise<Record<string, Agreement>> => {
      asked.push(`${cut}:${rates.join(',')}`);
      return Promise.resolve(cut === 'early' ? { u8: { cosine: 0.995 }, u4: { cosine: 0.9 } } : { u8: { cosine: 0.9999 }, u4: { cosine: 0.999 } });
    };
    // A heavy model on a slow uplink, the early cut at 1% of it: the cut beats the raw input and the device.
    p.full.macs = 10e9;
    p.cuts[0]!.headMacs = 0.1e9;
    p.cuts[1]!.headMacs = 9e9;
    const r = await recommend(p, { link: LINKS['3g']!, device: 'phone-low', objective: 'latency', rates: ['u8', 'u4'], verify });
    const early4 = r.options.find((o) => o.option === 'early @ u4')!;
    expect(early4.excluded).toBe('agreement cos 0.90000 < 0.99');
    expect(r.bestSplit).toBe(r.best);
    expect(r.best.option).toBe('early @ u8');
    expect(r.best.agreement).toEqual({ cosine: 0.995 });
    expect(asked).toEqual(['early:u8,u4']);
  });

  it('verifies a real cut of a real model through measureCut', async () => {
    const m = await loadModel(SEG, { shape: [1, 3, 16, 24] }, 6);
    const c = await measureCut(m, ['/Relu_1_output_0'], { rates: parseRates(['u8', 'f32']), runs: 0 });
    expect(c.calibration).toEqual([0, 2]);
    expect(c.evaluation).toEqual([3, 5]);
    expect(c.rates[1]!.agreement.maxAbsError).toBeLessThanOrEqual(1e-5); // f32 is lossless
    expect(c.rates[0]!.agreement.cosine).toBeGreaterThan(0.999);
    expect(c.rates[0]!.bytes.mean).toBeLessThanOrEqual(12 * 8 * 12);
  });
});
