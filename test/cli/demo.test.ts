import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('offramp demo', () => {
  it('serves, runs three policies and prints the comparison table', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'cli', 'index.ts'), 'demo', '--limit', '300', '--no-progress'], { cwd: ROOT }, (err, so) => (err ? reject(new Error(err.message)) : resolve(so)));
    });
    expect(stdout).toMatch(/^edge ws:\/\/127\.0\.0\.1:\d+ serving \S+; 300 test images per policy$/m);
    expect(stdout).toMatch(/^\| adaptive \| \d+\.\d\d% \| /m);
    expect(stdout).toMatch(/^\| always-local \| \d+\.\d\d% \| local 100\.0% \| 0\.0 \| /m);
    expect(stdout).toMatch(/^\| always-offload \| \d+\.\d\d% \| edge 100\.0% \| [1-9]/m);
  }, 60_000);
});
