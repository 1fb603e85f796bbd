/** The page's tables and panels, as HTML from plain data (no state here). */
import type { InferResult } from '../head/device.js';
import { barsHtml, KIND_NAMES, latencyStripHtml, stackHtml } from './charts.js';
import { bytes, energy, esc, ms, pct } from './format.js';
import { KINDS, kindOf, summarize, type Answer } from './summary.js';

/** One run of the comparison: a policy over the image set with the settings of the time. */
export interface Run {
  policy: string;
  /** Short, for charts: "adaptive". */
  label: string;
  /** The settings it ran with, in words. */
  setting: string;
  total: number;
  answers: Answer[];
}

/** The comparison table's rows (each cell labelled, so that rows become cards on a phone). */
export function runsRows(runs: readonly Run[]): string {
  if (!runs.length) return '<tr class="empty"><td colspan="6">No runs yet: press “compare all policies”.</td></tr>';
  return runs
    .map((r) => {
      const s = summarize(r.answers);
      const progress = r.answers.length < r.total ? ` <small>(${r.answers.length}/${r.total})</small>` : '';
      return `<tr>
      <td data-label="run"><strong>${esc(r.label)}</strong>${progress}<br><small>${esc(r.setting)}</small></td>
      <td data-label="accuracy">${s.n ? pct(s.correct / s.n) : '–'} <small>${s.correct}/${s.n}</small></td>
      <td data-label="where answered">${stackHtml(s.share)}<small>${KINDS.filter((k) => s.share[k] > 0)
        .map((k) => `${KIND_NAMES[k]} ${pct(s.share[k])}`)
        .join(' · ')}</small></td>
      <td data-label="latency p50 / p90">${ms(s.latency.p50)} / ${ms(s.latency.p90)} ms</td>
      <td data-label="energy / image">${energy(s.energyJ)}</td>
      <td data-label="bytes up / down">${bytes(s.bytesUp)} / ${bytes(s.bytesDown)}<br><small>payload ${bytes(s.payloadBytes)}</small></td>
    </tr>`;
    })
    .join('');
}

/** The charts under the table. */
export function chartsHtml(runs: readonly Run[]): string {
  const rows = runs.map((r) => ({ r, s: summarize(r.answers) }));
  return [
    latencyStripHtml(runs.map((r) => ({ label: r.label, answers: r.answers }))),
    barsHtml(
      'Energy per image',
      rows.map(({ r, s }) => ({ label: r.label, value: s.energyJ })),
      energy,
      '(compute + radio on the modelled device)',
    ),
    barsHtml(
      'Bytes sent per image',
      rows.map(({ r, s }) => ({ label: r.label, value: s.bytesUp })),
      bytes,
      '(payload + framing)',
    ),
    barsHtml(
      'Bytes received per image',
      rows.map(({ r, s }) => ({ label: r.label, value: s.bytesDown })),
      bytes,
    ),
  ].join('');
}

/** How bytes are counted, with an example from the runs when one has a split answer. */
export function bytesNote(runs: readonly Run[]): string {
  const split = runs.flatMap((r) => r.answers).find((a) => kindOf(a.result) === 'split' && a.result.bytesDown > 0);
  const example = split
    ? ` In these runs a ${split.result.payloadBytes} B payload (rate point ${esc(split.result.ratePoint ?? '')}) went up as ${split.result.bytesUp} B and its answer came back as ${split.result.bytesDown} B.`
    : '';
  return `Bytes count everything on the WebSocket: the codec's payload, the protobuf frame around it (request id, rate point, flags: a few bytes) and the WebSocket header (2 bytes, plus a 4-byte mask on everything the browser sends). An exit or a local answer sends nothing. Answers are a few bytes; one in eight also carries the server's timings.${example}`;
}

/** The answer for one chosen image: label, top-k bars, path, timings, bytes and energy. */
export function detailHtml(r: InferResult, labels: readonly string[], truth: number | undefined, note: string): string {
  const kind = kindOf(r);
  const top =
    r.topK ??
    (r.scores ?? [])
      .map((score, label) => ({ label, score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 5);
  const bars = top
    .map(
      (t) =>
        `<div class="bar-row"><div class="bar-label">${esc(labels[t.label] ?? String(t.label))}</div><div class="bar-track"><span class="bar ${t.label === r.label ? `k-${kind}` : 'other'}" style="width:${(t.score * 100).toFixed(1)}%"></span><span class="bar-value">${(t.score * 100).toFixed(1)}%</span></div></div>`,
    )
    .join('');
  const t = r.timings;
  const rows: [string, number, string][] = [
    ['head', t.head, 'the head and its exit on the device'],
    ['encode', t.encode, 'compressing the features (or the image)'],
    ['network', t.network, 'the round trip, less the server'],
    [
      'server',
      t.server.queue + t.server.decode + t.server.compute,
      `queue ${ms(t.server.queue)} + decode ${ms(t.server.decode)} + compute ${ms(t.server.compute)} (reported on 1 request in 8)`,
    ],
    ['local', t.local, "the device's own full model"],
  ];
  const correct =
    truth === undefined ? '' : r.label === truth ? ' <span class="ok">✓ right</span>' : ` <span class="wrong">✗ it is a ${esc(labels[truth] ?? '')}</span>`;
  return `<p class="answer"><strong>${esc(r.labelName ?? String(r.label))}</strong> ${(r.confidence * 100).toFixed(1)}%${correct}</p>
    <p><span class="path k-${kind}">${esc(r.path)}${r.ratePoint ? ` · ${esc(r.ratePoint)}` : ''}</span>${r.reason ? ` <span class="reason">reason: ${esc(r.reason)}</span>` : ''} <small>${esc(note)}</small></p>
    ${top.length ? `<figure class="chart"><figcaption>Top ${top.length} <small>(probabilities)</small></figcaption>${bars}</figure>` : ''}
    <table class="timings"><caption>Time on the modelled device, ms</caption><tbody>
      ${rows
        .filter(([, v]) => v > 0)
        .map(([k, v, what]) => `<tr><th>${k}</th><td>${ms(v)}</td><td><small>${esc(what)}</small></td></tr>`)
        .join('')}
      <tr class="total"><th>total</th><td>${ms(t.total)}</td><td><small>measured here: ${ms(r.measured.wall)} ms</small></td></tr>
    </tbody></table>
    <p class="small">payload ${bytes(r.payloadBytes)} · up ${bytes(r.bytesUp)} · down ${bytes(r.bytesDown)} · energy ${energy(r.energy.totalJ)} (compute ${energy(r.energy.computeJ)}, radio ${energy(r.energy.radioJ)})</p>`;
}
