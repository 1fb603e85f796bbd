import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileCommand, recommendCommand, splitCommand } from '../../cli/split.js';
import { CLS, SEG } from './helpers.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-split-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Runs a command with commander-style flags; its exit code and what it printed. */
async function run(fn: (out: (s: string) => void, err: (s: string) => void) => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await fn(
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('offramp profile / recommend / split', () => {
  it('profile says how to fix dynamic dims, then profiles with --shape; recommend reads the profile and names the split to run', async () => {
    const bad = await run((o, e) => profileCommand(SEG, { progress: false }, o, e));
    expect(bad).toEqual({
      code: 1,
      out: '',
      err: "offramp profile: MODEL_INVALID: input 'image' has dynamic dims [N, 3, H, W]: fix them with --shape image=1,3,<H>,<W> (the sample size the device will capture)",
    });
    const json = join(tmp, 'p.json');
    const p = await run((o, e) => profileCommand(SEG, { shape: 'image=1,3,16,24', samples: '6', runs: '2', json, progress: false }, o, e));
    expect(p.code).toBe(0);
    expect(p.out).toContain("Fixed: input 'image': [N, 3, H, W] → [N, 3, 16, 24].");
    expect(p.out).toMatch(/profiled 6 cuts in [\d.]+ s; wrote .*p\.json \(next: offramp recommend --profile .*p\.json --link lte --device phone-mid\)/);
    const r = await run((o, e) => recommendCommand(undefined, { profile: json, link: 'lte', device: 'mcu', progress: false }, o, e));
    expect(r.code).toBe(0);
    expect(r.out).toContain('## lte × mcu');
    expect(r.out).toMatch(/\| option \| device ms \| up \| edge ms \| down \| latency ms \| energy mJ \| agreement \| note \|/);
    expect(r.out).toMatch(/Next: offramp split .*split-seg\.onnx --at \S+ --shape image=1,3,16,24 --weights <pretrained\|trained\|random> --out <bundle dir>/);
    const badDevice = await run((o, e) => recommendCommand(undefined, { profile: json, device: 'toaster', progress: false }, o, e));
    expect(badDevice).toMatchObject({
      code: 2,
      err: "offramp recommend: --device: unknown device class 'toaster': use one of host, mcu, phone-low, phone-mid, rpi4, laptop",
    });
  }, 60_000);

  it('split needs --weights, reads labels from a file, and prints what it measured', async () => {
    const missing = await run((o, e) => splitCommand(CLS, { at: ['/Relu_output_0'], out: join(tmp, 'x'), progress: false }, o, e));
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(
      'offramp split: --weights is required: pretrained (published weights), trained (you trained them) or random (untrained: a timing-only bundle). A file cannot tell, and the manifest says it',
    );
    const labels = join(tmp, 'labels.txt');
    await writeFile(labels, 'cat\ndog\nbird\nfish\n');
    const ok = await run((o, e) =>
      splitCommand(CLS, { at: '/Relu_output_0', out: join(tmp, 'cls'), weights: 'trained', labels, samples: '6', runs: '2', progress: false }, o, e),
    );
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(
      /^wrote .*cls \(cls, task classification, weights trained; manifest [\d.]+ (B|kB)\): cut at '\/Relu_output_0'; head 2 nodes, tail 5/,
    );
    expect(ok.out).toContain('| rate point | payload mean | p99 | max | agreement | |');
    expect((JSON.parse(await readFile(join(tmp, 'cls', 'manifest.json'), 'utf8')) as { labels: string[] }).labels).toEqual(['cat', 'dog', 'bird', 'fish']);
    const bad = await run((o, e) =>
      splitCommand(CLS, { at: '/Relu_output_0', out: join(tmp, 'y'), weights: 'random', rates: 'u8,u12', progress: false }, o, e),
    );
    expect(bad).toMatchObject({
      code: 2,
      err: "offramp split: INVALID_ARGUMENT: unknown rate point 'u12': use u1…u8 (bits per value, per-channel range), f16 or f32",
    });
  }, 60_000);
});
