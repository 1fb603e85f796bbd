import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const TINY = join(ROOT, 'test', 'fixtures', 'tiny');

/** Runs the real CLI (from source, through tsx) and collects its exit code and output. */
function offramp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'index.ts'), ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'offramp-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('offramp inspect', () => {
  it('prints a summary of a verified bundle and exits 0', async () => {
    const r = await offramp('inspect', TINY);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tiny 0\.1\.0\n/);
    expect(r.stdout).toContain('bottleneck        features → features [2×7×7] in [0, 1], bits 2, 4, 8');
    expect(r.stdout).toContain('tail.onnx         sha256 ok, features float32[N×2×7×7] → logits float32[N×10]');
  }, 30_000);

  it('prints the manifest as JSON with --json', async () => {
    const r = await offramp('inspect', TINY, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { manifest: { id: string }; manifestSha256: string };
    expect(j.manifest.id).toBe('tiny');
    expect(j.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
  }, 30_000);

  it('refuses a bundle with one flipped byte and exits non-zero', async () => {
    const dir = join(tmp, 'flipped');
    await cp(TINY, dir, { recursive: true });
    const bytes = await readFile(join(dir, 'head.onnx'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x80;
    await writeFile(join(dir, 'head.onnx'), bytes);
    const r = await offramp('inspect', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^offramp inspect: BUNDLE_HASH_MISMATCH: .*head\.onnx: sha256 is/);
  }, 30_000);

  it('refuses a folder without a bundle', async () => {
    const r = await offramp('inspect', tmp);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^offramp inspect: BUNDLE_FILE_MISSING: cannot read .*manifest\.json: ENOENT/);
  }, 30_000);
});
