/** Timing helpers shared by the benchmarks: warm up, time each call, report percentiles. */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Percentile (0..100) of already-sorted samples, by nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Microsecond timings of `fn`: `warmup` untimed calls, then `iterations` timed ones (sorted). */
export function timeUs(fn: () => unknown, iterations: number, warmup = Math.min(200, iterations)): number[] {
  for (let i = 0; i < warmup; i++) fn();
  const out = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    out[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return out.sort((a, b) => a - b);
}

/** What the numbers were measured on. */
export function environment(): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    date: new Date().toISOString(),
  };
}

/** Rounds to 2 decimals for reports. */
export const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Rounds to 3 decimals for reports. */
export const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * CPU seconds (user + system) a process has used, from /proc (Linux): every thread's, or with
 * `tid` one thread's (the main thread's tid is the pid).
 */
export function processCpuSeconds(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}
/** Linux's USER_HZ. */
const CLOCK_TICKS = 100;
