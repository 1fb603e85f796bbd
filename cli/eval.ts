/** `offramp eval`: a bundle's accuracy, exits and payload through the real runtime path. */
import { writeFile } from 'node:fs/promises';
import { loadZstd } from '../bottleneck/zstd.js';
import { evaluateBundle, type EvalResult } from '../bench/eval.js';

/** Options as commander parses them. */
export interface EvalCommandOptions {
  bundle: string;
  bits?: string;
  threshold?: string;
  limit?: string;
  json?: string;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/** One-paragraph summary of a result. */
export function formatEval(r: EvalResult): string {
  return [
    `${r.bundle}: ${r.samples} test samples at ${r.bits} bits, exit threshold ${r.threshold}`,
    `  accuracy with exits ${pct(r.accuracy)}; split (all through the tail) ${pct(r.splitAccuracy)}; teacher ${pct(r.teacherAccuracy)}`,
    `  exit rate ${pct(r.exitRate)} (exit accuracy ${pct(r.exitAccuracy)}); payload ${r.payloadBytesMean.toFixed(1)} B mean, ${r.payloadBytesMax} B max`,
    `  agreement with PyTorch's simulated quantization: ${r.agreementWithPyTorch === null ? 'no golden predictions' : pct(r.agreementWithPyTorch)}; ${r.seconds.toFixed(1)} s`,
  ].join('\n');
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new RangeError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

/** Runs the command; resolves to the exit code. */
export async function evalCommand(opts: EvalCommandOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  try {
    const r = await evaluateBundle({
      bundle: opts.bundle,
      bits: num('bits', opts.bits),
      threshold: num('threshold', opts.threshold),
      limit: num('limit', opts.limit),
      zstd: await loadZstd(),
    });
    out(formatEval(r));
    if (opts.json) await writeFile(opts.json, JSON.stringify(r, null, 2) + '\n');
    return 0;
  } catch (e) {
    err(`offramp eval: ${(e as { code?: string }).code ?? (e as Error).name}: ${(e as Error).message}`);
    return 1;
  }
}
