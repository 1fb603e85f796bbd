/**
 * The benchmark's outputs: JSON (every configuration plus the environment), a Markdown report
 * that says next to each figure whether it was measured or modelled, and SVG plots rendered
 * with vega-lite (headless: vega's SVG renderer needs no canvas or browser).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installedVersion } from '../../scenario/package.js';
import type { TopLevelSpec } from 'vega-lite';
import { importOptional } from '../../protocol/optional.js';
import type { Manifest } from '../../protocol/manifest.js';
import { environment } from '../stats.js';
import type { BenchResult, BenchRow } from './run.js';

/** Where the figures ran: CPU, Node, package versions, commit. */
export function benchEnvironment(): Record<string, unknown> {
  const version = (pkg: string): string => installedVersion(pkg) ?? 'not installed';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return {
    ...environment(),
    commit,
    packages: Object.fromEntries(['onnxruntime-node', 'onnxruntime-web', 'ws', 'protobufjs', 'zstd-codec', 'vega', 'vega-lite'].map((p) => [p, version(p)])),
  };
}

/** Renders a vega-lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = await importOptional('vega', 'plots (offramp bench --report)', () => import('vega'));
  const { compile } = await importOptional('vega-lite', 'plots (offramp bench --report)', () => import('vega-lite'));
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The target checks the benchmark issue sets, from the rows. */
export interface TargetCheck {
  name: string;
  value: string;
  pass: boolean;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

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

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);

/** Writes report.md and the SVG plots into `dir`; returns the files written. */
export async function writeReport(result: BenchResult, env: Record<string, unknown>, dir: string, command: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const save = async (name: string, text: string): Promise<void> => {
    await writeFile(join(dir, name), text);
    files.push(join(dir, name));
  };
  const uplink = new Map(result.links.map((l) => [l.link, l.configured.upMbps]));
  const rows = result.rows.filter((r) => r.strategy !== 'oracle');
  const plotRows = rows.map((r) => ({ ...r, upMbps: uplink.get(r.link) ?? 0, energyMj: r.energyJ * 1000 }));

  const latency: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Mean latency vs uplink bandwidth (host measured; other devices modelled)',
    data: { values: plotRows },
    facet: { column: { field: 'device', type: 'nominal' }, row: { field: 'bundle', type: 'nominal' } },
    spec: {
      width: 260,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'upMbps', type: 'quantitative', scale: { type: 'log' }, title: 'uplink (Mbps, log)' },
        y: { field: 'latencyMsMean', type: 'quantitative', scale: { type: 'log' }, title: 'mean latency (ms, log)' },
        color: { field: 'strategy', type: 'nominal' },
      },
    },
  };
  const energy: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Energy per inference by strategy and link (modelled)',
    data: { values: plotRows },
    facet: { column: { field: 'link', type: 'nominal' }, row: { field: 'device', type: 'nominal' } },
    spec: {
      width: 150,
      height: 160,
      mark: 'bar',
      encoding: {
        x: { field: 'strategy', type: 'nominal', title: null },
        y: { field: 'energyMj', type: 'quantitative', title: 'mJ / inference' },
        color: { field: 'strategy', type: 'nominal', legend: null },
      },
    },
  };
  const manifests = await Promise.all(result.bundles.map(async (b) => JSON.parse(await readFile(join(b.dir, 'manifest.json'), 'utf8')) as Manifest));
  const exitPoints = manifests.flatMap((m) => {
    const split = m.bottleneck.ratePoints[m.bottleneck.defaultRatePoint]?.accuracy ?? 0;
    return (m.exits[0]?.thresholds ?? []).map((t) => ({
      bundle: m.id,
      threshold: t.threshold,
      exitRate: t.exitRate,
      lossPt: (split - t.overallAccuracy) * 100,
    }));
  });
  const exits: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Exit rate vs accuracy loss against the split model (calibration table, validation split)',
    width: 420,
    height: 260,
    data: { values: exitPoints },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'lossPt', type: 'quantitative', title: 'accuracy loss (points)' },
      y: { field: 'exitRate', type: 'quantitative', title: 'share of samples exiting on the device', axis: { format: '%' } },
      color: { field: 'bundle', type: 'nominal' },
      order: { field: 'threshold' },
      tooltip: [{ field: 'threshold' }],
    },
  };
  const plots: [string, string, TopLevelSpec][] = [
    ['latency-vs-uplink.svg', 'Latency vs uplink bandwidth', latency],
    ['energy.svg', 'Energy per strategy and link', energy],
  ];
  if (exitPoints.length) plots.push(['exit-rate.svg', 'Exit rate vs accuracy loss', exits]);
  for (const [name, , spec] of plots) await save(name, await renderSvg(spec));

  const md: string[] = [];
  md.push('# Offramp benchmark report', '');
  md.push(`Command: \`${command}\``, '');
  md.push(
    `Environment: ${String(env.cpu)} × ${String(env.cores)} cores, Node ${String(env.node)}, commit ${String(env.commit)}, ${String(env.date)}; packages ${Object.entries(
      env.packages as Record<string, string>,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. Run took ${result.seconds.toFixed(0)} s.`,
    '',
  );
  md.push(
    `**Measured** on this host: accuracy, paths, the codec's payload bytes, bytes on the wire (counted at the link proxy: WebSocket + protocol bytes, pings included), round trips, latency for \`host\`. **Modelled**: every energy figure, and the compute share of latency on device classes other than \`host\` (the bundle's MACs ÷ the class's throughput; docs/bench/DEVICES.md). One inference every ${result.periodMs || '— (back to back)'} ms.`,
    '',
  );
  for (const [name, title] of plots) md.push(`![${title}](${name})`, '');
  md.push('## Targets', '', '| check | value | pass |', '|---|---|---|');
  for (const c of targetChecks(result)) md.push(`| ${c.name} | ${c.value} | ${c.pass ? 'yes' : '**no**'} |`);
  md.push(
    '',
    '## Results',
    '',
    'Latency is measured for `host` and modelled for other devices; energy is modelled everywhere. Bytes are measured at the proxy.',
    '',
  );
  md.push(
    "Each run starts with a serial pilot (its first samples on one device alone); the others then join it on their own connections. The last column gives the devices side by side and the pilot's mean latency, to compare with the run's mean: their gap is what sharing this host's CPU cost.",
    '',
  );
  md.push(
    '| bundle | link | device | strategy | accuracy | exit rate | payload B up | wire B up / down | latency mean / p50 / p95 / p99 ms | energy mJ | paths | side by side (pilot mean ms) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of result.rows) {
    const paths = Object.entries(r.paths)
      .sort()
      .map(([k, v]) => `${k} ${((v / r.samples) * 100).toFixed(0)}%`)
      .join(', ');
    const oracle = r.oracleOf ? ` (latency: ${r.oracleOf.latency}, energy: ${r.oracleOf.energy})` : '';
    md.push(
      `| ${r.bundle} | ${r.link} | ${r.device} | ${r.strategy}${oracle} | ${pct(r.accuracy)} | ${pct(r.exitRate)} | ${r.payloadBytesUp.toFixed(1)} | ${r.wireBytesUp.toFixed(1)} / ${r.wireBytesDown.toFixed(1)} | ${[r.latencyMsMean, r.latencyMsP50, r.latencyMsP95, r.latencyMsP99].map((x) => x.toFixed(2)).join(' / ')} (${r.measured.latency}) | ${(r.energyJ * 1000).toFixed(2)} (modelled) | ${paths} | ${r.lanes} (${r.pilotSamples} × ${r.pilotLatencyMsMean.toFixed(2)}) |`,
    );
  }
  md.push(
    '',
    '## Links (fidelity of the emulator, measured through the proxy; jitter and loss left out of the check)',
    '',
    '| link | configured up / down Mbps, RTT ms | measured up / down Mbps, RTT ms (min of 15 pings) | within ±5% / ±(1 ms + 5%) | radio model | source |',
    '|---|---|---|---|---|---|',
  );
  for (const l of result.links) {
    const c = l.configured;
    const m = l.measured;
    const measured = Number.isFinite(m.upMbps)
      ? `${m.upMbps.toFixed(2)} / ${m.downMbps.toFixed(2)}, ${m.rttMs.toFixed(1)} (median ${m.rttMedianMs.toFixed(1)})`
      : 'n/a (outage)';
    md.push(
      `| ${l.link} | ${c.upMbps} / ${c.downMbps}, ${c.rttMs} | ${measured} | ${Number.isFinite(m.upMbps) ? (l.ok ? 'yes' : '**no**') : 'n/a'} | ${l.radio} | ${l.source} |`,
    );
  }
  md.push('', '## Device classes (modelled; sources: docs/bench/DEVICES.md)', '', '| device | MAC/s | active W | idle W | source |', '|---|---|---|---|---|');
  for (const d of result.devices)
    md.push(`| ${d.id} (${d.name}) | ${d.macsPerSecond ? d.macsPerSecond.toExponential(2) : 'measured'} | ${d.activeW} | ${d.idleW} | ${d.source} |`);
  md.push(
    '',
    '## Radio power models',
    '',
    'While busy (request sent until the answer or the failure): α up · megabits up + α down · megabits down + β · busy seconds (Huang et al., MobiSys 2012, integrated); then the tail until the next inference or the tail timer; a promotion after the radio went idle.',
    '',
    '| radio | α up mW/Mbps | α down mW/Mbps | β mW | tail mW / ms | promotion mW / ms | source |',
    '|---|---|---|---|---|---|---|',
  );
  for (const r of Object.values(result.radios))
    md.push(
      `| ${r.name} | ${r.alphaUpMwPerMbps} | ${r.alphaDownMwPerMbps} | ${r.betaMw} | ${r.tailMw} / ${r.tailMs} | ${r.promotionMw} / ${r.promotionMs} | ${r.source} |`,
    );
  md.push('');
  await save('report.md', md.join('\n'));
  return files;
}
