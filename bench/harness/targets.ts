/** The target checks the benchmark issue sets, from the rows: adaptive against the oracle and the baselines, bytes on lte. */
import type { BenchResult, BenchRow } from './run.js';

/** One target check: what, the figures, whether it passed. */
export interface TargetCheck {
  name: string;
  value: string;
  pass: boolean;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Every target check on `result`, per bundle and device class, then per bundle on lte. */
export function targetChecks(result: BenchResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const groups = new Map<string, BenchRow[]>();
  for (const r of result.rows) {
    const key = `${r.bundle}|${r.device}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, rows] of groups) {
    const [bundle, device] = key.split('|') as [string, string];
    const linksHere = [...new Set(rows.map((r) => r.link))];
    const get = (link: string, s: string): BenchRow => rows.find((r) => r.link === link && r.strategy === s)!;
    for (const [metric, strategy, field] of [
      ['latency', 'adaptive', 'latencyMsMean'],
      ['energy', 'adaptive:energy', 'energyJ'],
    ] as const) {
      const ratios = linksHere.map((l) => get(l, strategy)[field] / get(l, 'oracle')[field]);
      const worst = Math.max(...ratios);
      checks.push({
        name: `${bundle} on ${device}: ${strategy} ${metric} ≤ 1.05 × oracle on every link`,
        value: linksHere.map((l, i) => `${l} ${ratios[i]!.toFixed(3)}`).join(', '),
        pass: worst <= 1.05,
      });
      const avg = (s: string): number => mean(linksHere.map((l) => get(l, s)[field]));
      const a = avg(strategy);
      checks.push({
        name: `${bundle} on ${device}: ${strategy} ${metric} below local and offload, averaged over links`,
        value: `${fmt(a, field)} vs local ${fmt(avg('local'), field)}, offload ${fmt(avg('offload'), field)}`,
        pass: a < avg('local') && a < avg('offload'),
      });
    }
  }
  for (const bundle of new Set(result.rows.map((r) => r.bundle))) {
    const lte = result.rows.filter((r) => r.bundle === bundle && r.link === 'lte' && r.device === result.devices[0]?.id);
    const se = lte.find((r) => r.strategy === 'split-exit');
    const off = lte.find((r) => r.strategy === 'offload');
    if (se && off)
      checks.push({
        name: `${bundle} on lte: split-exit wire bytes up ≤ 0.08 × full offload's`,
        value: `${se.wireBytesUp.toFixed(1)} B vs ${off.wireBytesUp.toFixed(1)} B (ratio ${(se.wireBytesUp / off.wireBytesUp).toFixed(3)})`,
        pass: se.wireBytesUp <= 0.08 * off.wireBytesUp,
      });
    const split = lte.find((r) => r.strategy === 'split');
    if (split && split.requestsPerInference > 0) {
      const framing = (split.wireBytesUp - split.payloadBytesUp) / split.requestsPerInference;
      checks.push({ name: `${bundle} on lte: wire bytes up − payload ≤ 14 B per split request`, value: `${framing.toFixed(1)} B`, pass: framing <= 14 });
    }
  }
  return checks;
}

function fmt(v: number, field: 'latencyMsMean' | 'energyJ'): string {
  return field === 'energyJ' ? `${(v * 1000).toFixed(2)} mJ` : `${v.toFixed(2)} ms`;
}
