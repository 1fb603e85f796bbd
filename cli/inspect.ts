/** `offramp inspect <bundle>`: a verified bundle as a readable summary. */
import type { LoadedBundle } from '../protocol/bundle.js';
import { loadBundle } from '../protocol/bundle.js';
import type { Manifest } from '../protocol/manifest.js';

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const shape = (s: readonly number[]): string => `[${s.map((d) => (d === -1 ? 'N' : d)).join('×')}]`;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => '  ' + r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
}

/** The human-readable summary of a loaded bundle. */
export function formatBundle(b: LoadedBundle): string {
  const m: Manifest = b.manifest;
  const lines: string[] = [];
  lines.push(`${m.id} ${m.version}${m.timingOnly ? ' (timing only: random weights, no accuracy claims)' : ''}`);
  lines.push(`  folder            ${b.dir}`);
  lines.push(`  manifest sha256   ${b.manifestSha256}`);
  const shown = m.labels.length > 12 ? `${m.labels.slice(0, 10).join(', ')}, … ${m.labels.at(-1)}` : m.labels.join(', ');
  lines.push(`  task              ${m.task}, ${m.labels.length} labels: ${shown}`);
  const n = m.input.normalization;
  lines.push(`  input             ${shape(m.input.shape)} ${m.input.layout} from raw ${m.input.raw.dtype} ${shape(m.input.raw.shape)}; x·${n.scale.toPrecision(4)} − [${n.mean.join(', ')}] ÷ [${n.std.join(', ')}]`);
  const bn = m.bottleneck;
  lines.push(`  bottleneck        ${bn.headOutput} → ${bn.tailInput} ${shape(bn.shape)} in [${bn.range.min}, ${bn.range.max}], bits ${bn.bits.join(', ')}`);
  const bitRows = [['bits', 'payload B (≤)', 'val accuracy', 'test accuracy']];
  for (const bits of bn.bits) {
    const k = String(bits);
    bitRows.push([k, String(bn.payloadBytes?.[k] ?? '—'), bn.accuracy?.[k] === undefined ? '—' : pct(bn.accuracy[k]),
      m.accuracy?.splitByBits[k] === undefined ? '—' : pct(m.accuracy.splitByBits[k])]);
  }
  lines.push(...table(bitRows));
  if (m.accuracy) lines.push(`  teacher accuracy  ${pct(m.accuracy.teacher)} on ${m.accuracy.samples} ${m.accuracy.split} samples`);
  m.exits.forEach((e, i) => {
    lines.push(`  exit ${i}            ${e.output}, ${e.confidence}, recommended threshold ${e.recommendedThreshold}`);
    lines.push(...table([['threshold', 'exit rate', 'exit acc', 'overall acc'],
      ...e.thresholds.map((r) => [String(r.threshold), pct(r.exitRate), pct(r.exitAccuracy), pct(r.overallAccuracy)])]));
  });
  if (m.macs) {
    lines.push(`  MACs/sample       head ${m.macs.head.toLocaleString('en')}, tail ${m.macs.tail.toLocaleString('en')}, full ${m.macs.full.toLocaleString('en')} (head ${pct(m.macs.head / m.macs.full)} of full)`);
  }
  for (const [name, g] of Object.entries(m.graphs)) {
    const ports = (ps: typeof g.inputs): string => ps.map((p) => `${p.name} ${p.dtype}${shape(p.shape)}`).join(', ');
    lines.push(`  ${`${name}.onnx`.padEnd(17)} sha256 ok, ${ports(g.inputs)} → ${ports(g.outputs)}`);
  }
  const p = m.provenance;
  lines.push(`  provenance        ${p.tool}, ${p.dataset}, seed ${p.seed}, commit ${p.commit || '—'}, ${p.createdAt}`);
  return lines.join('\n');
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
