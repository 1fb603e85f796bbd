/** `offramp train`: the Python training/export pipeline (Debian's PyTorch via /usr/bin/python3). */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../scenario/package.js';

/** bottleneck/train/pipeline.py in this package. */
function pipelineScript(): string {
  const p = join(packageRoot(), 'bottleneck', 'train', 'pipeline.py');
  if (!existsSync(p)) throw new Error(`${p} not found`);
  return p;
}

/** Runs the pipeline with inherited stdio; resolves to its exit code. */
export function trainCommand(opts: { config: string; smoke?: boolean; python: string; set?: string[] }): Promise<number> {
  const args = [pipelineScript(), resolve(opts.config), ...(opts.smoke ? ['--smoke'] : []), ...(opts.set ?? []).map((kv) => `--${kv}`)];
  return new Promise((resolvePromise) => {
    const child = spawn(opts.python, args, { stdio: 'inherit' });
    child.on('error', (e) => {
      console.error(`offramp train: cannot run ${opts.python}: ${e.message} (install Debian's python3-torch python3-onnx dataset-fashion-mnist)`);
      resolvePromise(1);
    });
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}
