import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('generated protocol code', () => {
  it('is what scripts/gen-proto.sh produces from offramp.proto today', async () => {
    const out = await mkdtemp(join(tmpdir(), 'offramp-gen-'));
    try {
      await promisify(execFile)('bash', [join(ROOT, 'scripts', 'gen-proto.sh'), out], { cwd: ROOT });
      for (const file of ['offramp.js', 'offramp.d.ts']) {
        const fresh = await readFile(join(out, file), 'utf8');
        const committed = await readFile(join(ROOT, 'protocol', 'generated', file), 'utf8');
        expect(fresh, `${file} is stale: run npm run gen:proto`).toBe(committed);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);
});
