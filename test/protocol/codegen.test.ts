import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('generated protocol code', () => {
  it('is what scripts/gen-proto.sh produces from offramp.proto and onnx.proto today', async () => {
    const out = await mkdtemp(join(tmpdir(), 'offramp-gen-'));
    try {
      await promisify(execFile)('bash', [join(ROOT, 'scripts', 'gen-proto.sh'), out], { cwd: ROOT });
      for (const [dir, file] of [['protocol', 'offramp.js'], ['protocol', 'offramp.d.ts'], ['split', 'onnx.js'], ['split', 'onnx.d.ts']] as const) {
        const fresh = await readFile(join(out, file), 'utf8');
        const committed = await readFile(join(ROOT, dir, 'generated', file), 'utf8');
        expect(fresh, `${file} is stale: run npm run gen:proto`).toBe(committed);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 120_000);
});
