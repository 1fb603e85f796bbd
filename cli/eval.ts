/** `offramp eval`: a bundle's accuracy, exits and payload sizes through the real runtime path. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadZstd } from '../bottleneck/zstd-native.js';
import { importOptional } from '../protocol/optional.js';
import type { EvalResult } from '../split/eval.js';
import { addOptions, resolveOptions, type OptionSpec } from './options.js';

export const EVAL_OPTIONS: readonly OptionSpec[] = [
  { key: 'bundle', flag: '--bundle <dir>', kind: { type: 'string' }, help: 'bundle folder (required)' },
  { key: 'rate', flag: '--rate <id>', kind: { type: 'string' }, help: "rate point id or index (default: the manifest's default)" },
  { key: 'threshold', flag: '--threshold <t>', kind: { type: 'number', min: 0 }, help: "exit threshold (default: the manifest's recommended one)" },
  { key: 'limit', flag: '--limit <n>', kind: { type: 'int', min: 1 }, help: 'only the first n test images' },
  { key: 'zstd', flag: '--zstd', kind: { type: 'bool' }, default: false, help: 'try zstd on each payload (kept when smaller)' },
  { key: 'json', flag: '--json <file>', kind: { type: 'string' }, help: 'also write the result as JSON' },
];

export function addEvalCommand(program: Command): void {
  const cmd = program.command('eval').description('run the Fashion-MNIST test set through head → exit → codec → tail and report accuracy, exits and bytes');
  addOptions(cmd, EVAL_OPTIONS).action(async (flags: Record<string, unknown>) => {
    process.exitCode = await evalCommand(
      flags,
      (s) => console.log(s),
      (s) => console.error(s),
    );
  });
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/** One-paragraph summary of a result. */
export function formatEval(r: EvalResult): string {
  const est = r.estimatedBytesMean === null ? '' : ` (the entropy model estimates ${r.estimatedBytesMean.toFixed(2)} B)`;
  return [
    `${r.bundle}: ${r.samples} test samples at rate point ${r.ratePoint} (${r.codec}), exit threshold ${r.threshold}`,
    `  accuracy with exits ${pct(r.accuracy)}; split (all through the tail) ${pct(r.splitAccuracy)}; teacher ${pct(r.teacherAccuracy)} (loss ${((r.teacherAccuracy - r.splitAccuracy) * 100).toFixed(2)} pt)`,
    `  exit rate ${pct(r.exitRate)} (exit accuracy ${pct(r.exitAccuracy)}); payload ${r.payloadBytesMean.toFixed(2)} B mean${est}, ${r.payloadBytesP99} B p99, ${r.payloadBytesMax} B max`,
    `  MACs: head + exits ${r.headMacs?.toLocaleString('en') ?? '—'} (${r.headMacs && r.teacherMacs ? pct(r.headMacs / r.teacherMacs) : '—'} of the teacher's ${r.teacherMacs?.toLocaleString('en') ?? '—'})`,
    `  agreement with PyTorch: ${r.agreementWithPyTorch === null ? 'no golden predictions' : pct(r.agreementWithPyTorch)}; ${r.seconds.toFixed(1)} s`,
  ].join('\n');
}

/** Runs the command; resolves to the exit code. */
export async function evalCommand(flags: Record<string, unknown>, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  try {
    const o = resolveOptions(EVAL_OPTIONS, flags);
    if (o.bundle === undefined) throw new RangeError('--bundle <dir> is required');
    // onnxruntime-node (an optional peer) only when the command runs: the CLI starts without it.
    const { evaluateBundle } = await importOptional('onnxruntime-node', 'offramp eval', () => import('../split/eval.js'));
    const r = await evaluateBundle({
      bundle: o.bundle as string,
      ...(o.rate !== undefined ? { rate: o.rate as string } : {}),
      ...(o.threshold !== undefined ? { threshold: o.threshold as number } : {}),
      ...(o.limit !== undefined ? { limit: o.limit as number } : {}),
      ...(o.zstd ? { zstd: await loadZstd() } : {}),
    });
    out(formatEval(r));
    if (o.json) await writeFile(o.json as string, JSON.stringify(r, null, 2) + '\n');
    return 0;
  } catch (e) {
    err(`offramp eval: ${(e as { code?: string }).code ?? (e as Error).name}: ${(e as Error).message}`);
    return 1;
  }
}
