/**
 * How closely a split reproduces its original model, in the terms that fit each output: top-1
 * agreement for class logits; for tensors the largest absolute error, the relative error
 * ‖ŷ − y‖₂ / ‖y‖₂ and the cosine similarity ŷ·y / (‖ŷ‖‖y‖). Every figure is the worst over the
 * samples and over the outputs, so one number bounds them all.
 */
import { argmax } from '../protocol/scores.js';

/** One rate point's figures, as manifest.agreement.byRate stores them. */
export interface Agreement {
  top1?: number;
  maxAbsError?: number;
  relError?: number;
  cosine?: number;
}

/** One output's values for one sample. */
export type Values = ArrayLike<number | bigint>;

const num = (v: number | bigint): number => Number(v);

/** Tensor error figures of one sample's output. */
export function tensorError(want: Values, got: Values): Required<Pick<Agreement, 'maxAbsError' | 'relError' | 'cosine'>> {
  let maxAbs = 0;
  let dd = 0;
  let yy = 0;
  let gg = 0;
  let yg = 0;
  for (let i = 0; i < want.length; i++) {
    const y = num(want[i]!);
    const g = num(got[i]!);
    const d = g - y;
    if (Math.abs(d) > maxAbs) maxAbs = Math.abs(d);
    dd += d * d;
    yy += y * y;
    gg += g * g;
    yg += y * g;
  }
  const cosine = yy === 0 && gg === 0 ? 1 : yy === 0 || gg === 0 ? 0 : Math.max(-1, Math.min(1, yg / Math.sqrt(yy * gg)));
  return { maxAbsError: maxAbs, relError: yy === 0 ? Math.sqrt(dd) : Math.sqrt(dd / yy), cosine };
}

/** Accumulates agreement over samples: `add` one sample's outputs (reference, then the split's). */
export class AgreementMeter {
  private samples = 0;
  private same = 0;
  private maxAbs = 0;
  private rel = 0;
  private cos = 1;
  constructor(private readonly kinds: readonly ('class-logits' | 'tensor')[]) {}

  add(want: readonly Values[], got: readonly Values[]): void {
    this.samples++;
    this.kinds.forEach((k, o) => {
      if (k === 'class-logits') {
        if (argmax(Array.from(want[o]!, num)) === argmax(Array.from(got[o]!, num))) this.same++;
        return;
      }
      const e = tensorError(want[o]!, got[o]!);
      this.maxAbs = Math.max(this.maxAbs, e.maxAbsError);
      this.rel = Math.max(this.rel, e.relError);
      this.cos = Math.min(this.cos, e.cosine);
    });
  }

  /** The figures so far (top-1 for class logits; tensor figures when any output is a tensor). */
  result(): Agreement {
    const out: Agreement = {};
    const classes = this.kinds.filter((k) => k === 'class-logits').length;
    if (classes) out.top1 = this.samples ? this.same / (this.samples * classes) : 0;
    if (this.kinds.includes('tensor')) Object.assign(out, { maxAbsError: this.maxAbs, relError: this.rel, cosine: this.cos });
    return out;
  }
}

/** The figure `--min-agreement` is held against: top-1 when there are class logits, else the cosine. */
export function agreementScore(a: Agreement): number {
  return a.top1 ?? a.cosine ?? 0;
}

/** "top-1 100.0%" or "cos 0.99987; rel 1.2e-2; max|Δ| 3.1e-3" (the figures it has). */
export function formatAgreement(a: Agreement): string {
  const parts: string[] = [];
  if (a.top1 !== undefined) parts.push(`top-1 ${(a.top1 * 100).toFixed(1)}%`);
  if (a.cosine !== undefined) parts.push(`cos ${a.cosine.toFixed(5)}`);
  if (a.relError !== undefined) parts.push(`rel ${a.relError.toExponential(1)}`);
  if (a.maxAbsError !== undefined) parts.push(`max|Δ| ${a.maxAbsError.toExponential(1)}`);
  return parts.join('; ') || '—';
}
