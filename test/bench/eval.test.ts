import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultBits, evaluateBundle } from '../../bench/eval.js';
import { loadBundle } from '../../protocol/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TINY = join(ROOT, 'test', 'fixtures', 'tiny');

describe('evaluateBundle (tiny bundle, whole test set)', () => {
  it("reproduces the exporter's test accuracy and agrees with PyTorch's simulated quantization on ≥ 99.9%", async () => {
    const { manifest } = await loadBundle(TINY);
    for (const bits of manifest.bottleneck.bits) {
      const r = await evaluateBundle({ bundle: TINY, bits });
      expect(r.samples).toBe(10000);
      expect(r.agreementWithPyTorch).toBeGreaterThanOrEqual(0.999);
      // onnxruntime and PyTorch may differ in the last float bits: allow 5 of 10,000 predictions.
      expect(Math.abs(r.splitAccuracy - manifest.accuracy!.splitByBits[String(bits)]!)).toBeLessThanOrEqual(0.0005);
      expect(Math.abs(r.teacherAccuracy - manifest.accuracy!.teacher)).toBeLessThanOrEqual(0.0005);
      expect(r.payloadBytesMax).toBe(manifest.bottleneck.payloadBytes![String(bits)]);
    }
  }, 120_000);

  it('threshold above 1 never exits; threshold 0 always exits', async () => {
    const never = await evaluateBundle({ bundle: TINY, threshold: 1.01, limit: 500 });
    expect(never.exitRate).toBe(0);
    expect(never.accuracy).toBe(never.splitAccuracy);
    const always = await evaluateBundle({ bundle: TINY, threshold: 0, limit: 500 });
    expect(always.exitRate).toBe(1);
    expect(always.accuracy).toBe(always.exitAccuracy);
  });

  it('refuses a bit width the bundle was not trained for', async () => {
    await expect(evaluateBundle({ bundle: TINY, bits: 3 })).rejects.toThrow('tiny was trained for bits [2, 4, 8], not 3');
  });
});

describe('defaultBits', () => {
  it('takes the largest trained width that fits the budget, or the largest without one', async () => {
    const { manifest } = await loadBundle(TINY);
    expect(defaultBits(manifest)).toBe(8);
    expect(defaultBits({ ...manifest, bottleneck: { ...manifest.bottleneck, budgetBytes: 49 } })).toBe(4);
    expect(() => defaultBits({ ...manifest, bottleneck: { ...manifest.bottleneck, budgetBytes: 10 } })).toThrow('no bit width of [2, 4, 8] fits the 10 B budget');
  });
});

describe('offramp eval (CLI)', () => {
  it('prints a summary and writes the JSON keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'offramp-eval-'));
    try {
      const out = join(dir, 'out.json');
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'index.ts'), 'eval', '--bundle', TINY, '--bits', '4', '--limit', '300', '--json', out], { cwd: ROOT }, (err, so) => (err ? reject(new Error(err.message)) : resolve(so)));
      });
      expect(stdout).toMatch(/^tiny: 300 test samples at 4 bits, exit threshold /);
      const j = JSON.parse(await readFile(out, 'utf8')) as Record<string, unknown>;
      for (const k of ['bundle', 'bits', 'samples', 'accuracy', 'splitAccuracy', 'teacherAccuracy', 'payloadBytesMean', 'payloadBytesMax', 'exitRate', 'threshold']) {
        expect(j).toHaveProperty(k);
      }
      expect(j.bits).toBe(4);
      expect(j.payloadBytesMax).toBe(49);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
