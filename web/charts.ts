/**
 * The page's charts, drawn as HTML (labels are text in the flow of the page, so none is ever
 * clipped, and every chart fits any width): bars per run, stacked shares per run, and a strip of
 * every answer's latency per run on a log axis.
 */
import { esc } from './format.js';
import { KINDS, kindOf, type Answer, type Kind } from './summary.js';

/** Short names of the kinds, for text beside the colours. */
export const KIND_NAMES: Record<Kind, string> = { exit: 'exit', split: 'edge (split)', full: 'edge (full offload)', local: 'local', fallback: 'fallback' };

/** A run as the charts show it. */
export interface ChartRow {
  label: string;
  answers: readonly Answer[];
}

/** One stacked bar of shares per kind, with the shares as text for screen readers and small screens. */
export function stackHtml(share: Record<Kind, number>): string {
  const parts = KINDS.filter((k) => share[k] > 0);
  const text = parts.map((k) => `${KIND_NAMES[k]} ${Math.round(share[k] * 100)}%`).join(', ');
  return `<div class="stack" role="img" aria-label="${esc(text)}">${parts.map((k) => `<span class="k-${k}" style="width:${(share[k] * 100).toFixed(2)}%" title="${esc(`${KIND_NAMES[k]}: ${(share[k] * 100).toFixed(1)}%`)}"></span>`).join('')}</div>`;
}

/** Horizontal bars, one per row, scaled to the largest value; `fmt` writes the value beside it. */
export function barsHtml(title: string, rows: { label: string; value: number; kind?: Kind }[], fmt: (v: number) => string, note = ''): string {
  const max = Math.max(...rows.map((r) => r.value), 0);
  const body = rows
    .map(
      (r) =>
        `<div class="bar-row"><div class="bar-label">${esc(r.label)}</div><div class="bar-track"><span class="bar ${r.kind ? `k-${r.kind}` : ''}" style="width:${max > 0 ? ((r.value / max) * 100).toFixed(2) : 0}%"></span><span class="bar-value">${esc(fmt(r.value))}</span></div></div>`,
    )
    .join('');
  return `<figure class="chart"><figcaption>${esc(title)}${note ? ` <small>${esc(note)}</small>` : ''}</figcaption>${body || '<p class="empty">no runs yet</p>'}</figure>`;
}

/** Ticks of a log axis: 1-2-5 steps covering [lo, hi]. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e;
      if (t >= lo * 0.999 && t <= hi * 1.001) out.push(Number(t.toPrecision(3)));
    }
  }
  return out;
}

/** Every answer's modelled latency as a dot on a shared log axis, one strip per run, coloured by kind. */
export function latencyStripHtml(rows: readonly ChartRow[]): string {
  const all = rows.flatMap((r) => r.answers.map((a) => Math.max(0.01, a.result.timings.total)));
  if (!all.length) return '<figure class="chart"><figcaption>Latency of every answer (ms, log scale)</figcaption><p class="empty">no runs yet</p></figure>';
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all) * 1.0001));
  const x = (v: number): number => ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * 100;
  const ticks = logTicks(lo, hi);
  // Over more than two decades only the decades are labelled (1-2-5 labels would touch); every tick keeps its grid line.
  const labelled = ticks.length > 7 ? ticks.filter((t) => Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9) : ticks;
  const axis = labelled.map((t) => `<span class="tick" style="left:${x(t).toFixed(2)}%">${t}</span>`).join('');
  const grid = ticks.map((t) => `<span class="grid" style="left:${x(t).toFixed(2)}%"></span>`).join('');
  const strips = rows
    .map((r) => {
      const dots = r.answers
        .map((a) => `<span class="dot k-${kindOf(a.result)}" style="left:${x(Math.max(0.01, a.result.timings.total)).toFixed(2)}%"></span>`)
        .join('');
      return `<div class="bar-row"><div class="bar-label">${esc(r.label)}</div><div class="strip">${grid}${dots}</div></div>`;
    })
    .join('');
  return `<figure class="chart"><figcaption>Latency of every answer <small>(ms on the modelled device, log scale)</small></figcaption>${strips}<div class="bar-row"><div class="bar-label"></div><div class="axis">${axis}</div></div></figure>`;
}
