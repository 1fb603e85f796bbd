/** `offramp inspect <bundle>`: a verified bundle as a readable summary. */
import type { LoadedBundle } from '../protocol/bundle.js';
import { loadBundle } from '../protocol/bundle.js';
import type { Manifest } from '../protocol/manifest.js';

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const shape = (s: readonly number[]): string => `[${s.map((d) => (d === -1 ? 'N' : d)).join('×')}]`;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map(
    (r) =>
      '  ' +
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
  );
}

/** The human-readable summary of a loaded bundle. */
export function formatBundle(b: LoadedBundle): string {
  const m: Manifest = b.manifest;
  const p = m.provenance;
  return [
    ...identityLines(b),
    ...rateLines(m),
    `  outputs           ${m.outputs.map((o) => `${o.name} (${o.kind})`).join(', ')}`,
    ...accuracyLines(m),
    ...exitLines(m),
    ...graphLines(m),
    `  provenance        ${p.weights} weights; ${p.tool}, ${p.dataset}${p.seed !== undefined ? `, seed ${p.seed}` : ''}, commit ${p.commit || '—'}, ${p.createdAt}${p.source ? `; source ${p.source}` : ''}`,
  ].join('\n');
}

/** Id, folder, manifest hash, task and labels, input, bottleneck. */
function identityLines(b: LoadedBundle): string[] {
  const m = b.manifest;
  const shown = m.labels.length > 12 ? `${m.labels.slice(0, 10).join(', ')}, … ${m.labels.at(-1)}` : m.labels.join(', ');
  const n = m.input.normalization;
  const bn = m.bottleneck;
  return [
    `${m.id} ${m.version}${m.timingOnly ? ' (timing only: no accuracy claims)' : ''}`,
    `  folder            ${b.dir}`,
    `  manifest sha256   ${b.manifestSha256}`,
    `  task              ${m.task}, ${m.labels.length} labels: ${shown}`,
    `  input             ${shape(m.input.shape)} ${m.input.layout} from raw ${m.input.raw.dtype} ${shape(m.input.raw.shape)} ${m.input.raw.layout}; x·${n.scale.toPrecision(4)} − [${n.mean.join(', ')}] ÷ [${n.std.join(', ')}]`,
    `  bottleneck        ${bn.headOutput} → ${bn.tailInput} ${shape(bn.shape)}, ${bn.ratePoints.length} rate point(s), default ${bn.ratePoints[bn.defaultRatePoint]?.id}`,
  ];
}

/** One table row per rate point: codec, payload bytes, accuracy. */
function rateLines(m: Manifest): string[] {
  const rateRows = [['rate point', 'codec', 'payload B mean / p99 / max', 'val accuracy', 'test accuracy']];
  for (const rp of m.bottleneck.ratePoints) {
    const codec = rp.codec === 'entropy' ? `entropy, step ${rp.step}, ${rp.tables.file}` : rp.codec === 'uniform' ? `uniform ${rp.bits} bits` : rp.codec;
    const b = rp.bytes ? `${rp.bytes.mean.toFixed(2)} / ${rp.bytes.p99} / ${rp.bytes.max}` : '—';
    rateRows.push([
      rp.id,
      codec,
      b,
      rp.accuracy === undefined ? '—' : pct(rp.accuracy),
      m.accuracy?.splitByRate[rp.id] === undefined ? '—' : pct(m.accuracy.splitByRate[rp.id]!),
    ]);
  }
  return table(rateRows);
}

/** The teacher's accuracy, and the agreement with the original model per rate point, where the manifest states them. */
function accuracyLines(m: Manifest): string[] {
  const lines: string[] = [];
  if (m.accuracy)
    lines.push(
      `  teacher accuracy  ${pct(m.accuracy.teacher)} on ${m.accuracy.samples} ${m.accuracy.split} samples${m.accuracy.withExits !== undefined ? `; with exits ${pct(m.accuracy.withExits)}` : ''}`,
    );
  if (m.agreement) {
    for (const [id, a] of Object.entries(m.agreement.byRate)) {
      lines.push(
        `  agreement ${id.padEnd(7)} ${[a.top1 !== undefined ? `top-1 ${pct(a.top1)}` : '', a.maxAbsError !== undefined ? `max abs err ${a.maxAbsError.toPrecision(3)}` : '', a.cosine !== undefined ? `cosine ${a.cosine.toFixed(5)}` : ''].filter(Boolean).join(', ')} (${m.agreement.samples} ${m.agreement.inputs})`,
      );
    }
  }
  return lines;
}

/** Each exit and its threshold table. */
function exitLines(m: Manifest): string[] {
  return m.exits.flatMap((e, i) => [
    `  exit ${i}            ${e.output}, ${e.confidence}, recommended threshold ${e.recommendedThreshold}`,
    ...table([
      ['threshold', 'exit rate', 'exit acc', 'overall acc'],
      ...e.thresholds.map((r) => [String(r.threshold), pct(r.exitRate), pct(r.exitAccuracy), pct(r.overallAccuracy)]),
    ]),
  ]);
}

/** MACs per sample, and each graph's ports (their hashes were checked on loading). */
function graphLines(m: Manifest): string[] {
  const lines: string[] = [];
  if (m.macs) {
    const head = m.macs.head + (m.macs.exits ?? 0);
    lines.push(
      `  MACs/sample       head + exits ${head.toLocaleString('en')}, tail ${m.macs.tail.toLocaleString('en')}, full ${m.macs.full.toLocaleString('en')} (head ${pct(head / m.macs.full)} of full)`,
    );
  }
  for (const [name, g] of Object.entries(m.graphs)) {
    const ports = (ps: typeof g.inputs): string => ps.map((p) => `${p.name} ${p.dtype}${shape(p.shape)}`).join(', ');
    lines.push(`  ${`${name}.onnx`.padEnd(17)} sha256 ok, ${ports(g.inputs)} → ${ports(g.outputs)}`);
  }
  return lines;
}

/** Runs the command; resolves to the process exit code. */
export async function inspectCommand(dir: string, opts: { json?: boolean }, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  try {
    const bundle = await loadBundle(dir);
    out(opts.json ? JSON.stringify({ dir: bundle.dir, manifestSha256: bundle.manifestSha256, manifest: bundle.manifest }, null, 2) : formatBundle(bundle));
    return 0;
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'ERROR';
    err(`offramp inspect: ${code}: ${(e as Error).message}`);
    return 1;
  }
}
