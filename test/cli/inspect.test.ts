/** `offramp inspect` (cli/inspect.ts): formatBundle's summary, inspectCommand's outcomes, and the real command line once. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBundle, inspectCommand } from '../../cli/inspect.js';
import { loadBundle, type LoadedBundle } from '../../protocol/bundle.js';
import type { Manifest } from '../../protocol/manifest.js';
import { TINY } from '../tail/client.js';

const ROOT = join(import.meta.dirname, '..', '..');

let tmp: string;
let tiny: LoadedBundle;
let manifestSha: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-inspect-'));
  tiny = await loadBundle(TINY);
  manifestSha = createHash('sha256')
    .update(await readFile(join(TINY, 'manifest.json')))
    .digest('hex');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** The tiny bundle with an edited manifest (formatBundle reads only the manifest, folder and hash). */
const edited = (edit: (m: Manifest) => Manifest): LoadedBundle => ({ ...tiny, manifest: edit(structuredClone(tiny.manifest)) });

describe('formatBundle', () => {
  it('summarises the tiny bundle: rate points, exits, outputs, MACs, graphs, provenance', () => {
    expect(formatBundle(tiny).split('\n')).toEqual([
      'tiny 0.2.0',
      `  folder            ${TINY}`,
      `  manifest sha256   ${manifestSha}`,
      '  task              classification, 10 labels: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot',
      '  input             [1×28×28] NCHW from raw uint8 [28×28] plain; x·0.003922 − [0] ÷ [1]',
      '  bottleneck        latent → latent [2×7×7], 3 rate point(s), default s1',
      '  rate point  codec                             payload B mean / p99 / max  val accuracy  test accuracy',
      '  s1          entropy, step 1, entropy-s1.json  13.03 / 21 / 26             76.50%        77.63%',
      '  u4          uniform 4 bits                    —                           79.20%        79.01%',
      '  f16         float16                           —                           78.60%        79.46%',
      '  outputs           logits (class-logits)',
      '  teacher accuracy  79.46% on 10000 test samples',
      '  exit 0            exit0_logits, max-prob, recommended threshold 0.5',
      '  threshold  exit rate  exit acc  overall acc',
      '  0.5        84.60%     83.69%    77.80%',
      '  0.6        75.70%     87.05%    78.10%',
      '  0.7        65.60%     90.85%    77.60%',
      '  0.8        54.40%     95.22%    77.20%',
      '  0.9        40.70%     97.05%    77.10%',
      '  0.95       29.50%     98.98%    76.60%',
      '  0.99       10.70%     98.13%    76.50%',
      '  MACs/sample       head + exits 12,544, tail 10,976, full 23,520 (head 53.33% of full)',
      '  head.onnx         sha256 ok, input float32[N×1×28×28] → latent float32[N×2×7×7], exit0_logits float32[N×10]',
      '  tail.onnx         sha256 ok, latent float32[N×2×7×7] → logits float32[N×10]',
      '  full.onnx         sha256 ok, input float32[N×1×28×28] → logits float32[N×10]',
      '  provenance        trained weights; test/fixtures/make_tiny_bundle.py, fashion-mnist (Debian dataset-fashion-mnist), seed 7, commit 89e27b9df5db9ae1f065681a5a84a408f00e68a6, 2026-12-02T05:22:28Z',
    ]);
  });

  it('says when a bundle is timing only, shortens long label lists, and shows exits MACs, accuracy with exits, a source', () => {
    const text = formatBundle(
      edited((m) => ({
        ...m,
        timingOnly: true,
        labels: Array.from({ length: 1000 }, (_, i) => `c${i}`),
        accuracy: { ...m.accuracy!, withExits: 0.7938 },
        macs: { ...m.macs!, exits: 456 },
        provenance: { ...m.provenance, weights: 'pretrained', source: 'https://example.org/model.onnx', commit: '' },
      })),
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('tiny 0.2.0 (timing only: no accuracy claims)');
    expect(lines).toContain('  task              classification, 1000 labels: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, … c999');
    expect(lines).toContain('  teacher accuracy  79.46% on 10000 test samples; with exits 79.38%');
    expect(lines).toContain('  MACs/sample       head + exits 13,000, tail 10,976, full 23,520 (head 55.27% of full)');
    expect(lines.at(-1)).toBe(
      '  provenance        pretrained weights; test/fixtures/make_tiny_bundle.py, fashion-mnist (Debian dataset-fashion-mnist), seed 7, commit —, 2026-12-02T05:22:28Z; source https://example.org/model.onnx',
    );
  });

  it('shows agreement figures per rate point for a bundle measured by agreement', () => {
    const text = formatBundle(
      edited((m) => {
        delete m.accuracy;
        delete m.macs;
        return {
          ...m,
          exits: [],
          agreement: { samples: 64, inputs: 'calibration images', byRate: { s1: { top1: 0.984375 }, f16: { maxAbsError: 0.000123456, cosine: 0.9999987 } } },
        };
      }),
    );
    const lines = text.split('\n');
    expect(lines).toContain('  agreement s1      top-1 98.44% (64 calibration images)');
    expect(lines).toContain('  agreement f16     max abs err 0.000123, cosine 1.00000 (64 calibration images)');
    expect(text).not.toContain('teacher accuracy');
    expect(text).not.toContain('MACs/sample');
    expect(text).not.toContain('exit 0');
    // Without test accuracies the rate point table says so.
    expect(lines).toContain('  u4          uniform 4 bits                    —                           79.20%        —');
  });
});

describe('inspectCommand', () => {
  it('prints the summary and exits 0', async () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(
      await inspectCommand(
        TINY,
        {},
        (s) => out.push(s),
        (s) => err.push(s),
      ),
    ).toBe(0);
    expect(err).toEqual([]);
    expect(out).toEqual([formatBundle(tiny)]);
  });

  it('prints the verified manifest as JSON with --json', async () => {
    const out: string[] = [];
    expect(
      await inspectCommand(
        TINY,
        { json: true },
        (s) => out.push(s),
        () => {},
      ),
    ).toBe(0);
    expect(out).toHaveLength(1);
    const j = JSON.parse(out[0]!) as { dir: string; manifestSha256: string; manifest: Manifest };
    expect(j).toEqual({ dir: TINY, manifestSha256: manifestSha, manifest: tiny.manifest });
  });

  it('refuses a bundle with one flipped byte, naming the file and both hashes', async () => {
    const dir = join(tmp, 'flipped');
    await cp(TINY, dir, { recursive: true });
    const bytes = await readFile(join(dir, 'head.onnx'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x80;
    await writeFile(join(dir, 'head.onnx'), bytes);
    const flippedSha = createHash('sha256').update(bytes).digest('hex');
    const out: string[] = [];
    const err: string[] = [];
    expect(
      await inspectCommand(
        dir,
        {},
        (s) => out.push(s),
        (s) => err.push(s),
      ),
    ).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([`offramp inspect: BUNDLE_HASH_MISMATCH: head.onnx: sha256 is ${flippedSha}; the manifest says ${tiny.manifest.graphs.head.sha256}`]);
  });

  it('refuses a folder without a bundle', async () => {
    const err: string[] = [];
    expect(
      await inspectCommand(
        tmp,
        {},
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(1);
    expect(err).toEqual([`offramp inspect: BUNDLE_FILE_MISSING: cannot read ${join(tmp, 'manifest.json')}: ENOENT`]);
  });
});

describe('offramp inspect (the command line)', () => {
  it('reaches inspectCommand through commander: the summary on stdout, exit 0', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'index.ts'), 'inspect', TINY], { cwd: ROOT }, (_err, stdout, stderr) => {
        resolve({ code: child.exitCode, stdout, stderr });
      });
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${formatBundle(tiny)}\n`);
  }, 60_000);
});
