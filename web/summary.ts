/** A run's answers summed up for the comparison table and charts (pure). */
import type { InferResult } from '../head/device.js';

/** The ways an answer can come about, as the page colours them. */
export const KINDS = ['exit', 'split', 'full', 'local', 'fallback'] as const;
export type Kind = (typeof KINDS)[number];

/** One answer the page keeps: the SDK's result, the image and its true label. */
export interface Answer {
  index: number;
  truth: number;
  result: InferResult;
}

/** exit:k → exit; edge → split, or full (the raw image went: ratePoint 'input'); local; fallback. */
export function kindOf(r: Pick<InferResult, 'path' | 'ratePoint'>): Kind {
  if (r.path.startsWith('exit:')) return 'exit';
  if (r.path === 'edge') return r.ratePoint === 'input' ? 'full' : 'split';
  return r.path === 'local' ? 'local' : 'fallback';
}

export interface Summary {
  n: number;
  correct: number;
  /** Share of answers per kind, 0..1. */
  share: Record<Kind, number>;
  /** Modelled device latency, ms. */
  latency: { p50: number; p90: number; mean: number };
  /** Mean energy per answer on the modelled device, J. */
  energyJ: number;
  /** Mean per answer: codec output, and everything on the socket each way. */
  payloadBytes: number;
  bytesUp: number;
  bytesDown: number;
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo]! + (sorted[Math.ceil(i)]! - sorted[lo]!) * (i - lo);
}

export function summarize(answers: readonly Answer[]): Summary {
  const n = answers.length;
  const share = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  for (const a of answers) share[kindOf(a.result)] += 1 / n;
  const lat = answers.map((a) => a.result.timings.total).sort((x, y) => x - y);
  const mean = (f: (a: Answer) => number): number => (n ? answers.reduce((s, a) => s + f(a), 0) / n : 0);
  return {
    n,
    correct: answers.filter((a) => a.result.label === a.truth).length,
    share,
    latency: { p50: quantile(lat, 0.5), p90: quantile(lat, 0.9), mean: mean((a) => a.result.timings.total) },
    energyJ: mean((a) => a.result.energy.totalJ),
    payloadBytes: mean((a) => a.result.payloadBytes),
    bytesUp: mean((a) => a.result.bytesUp),
    bytesDown: mean((a) => a.result.bytesDown),
  };
}
