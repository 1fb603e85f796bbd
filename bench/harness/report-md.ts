/** report.md, section by section; every section says whether its figures were measured or modelled. */
import type { BenchResult, BenchRow } from './run.js';
import { targetChecks } from './targets.js';

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);

/** The title, the command, where it ran, what was measured and what modelled, and the plots (`[file, title]`). */
export function headerSection(
  result: BenchResult,
  env: Record<string, unknown>,
  command: string,
  plots: readonly (readonly [string, string, ...unknown[]])[],
): string[] {
  const packages = Object.entries(env.packages as Record<string, string>)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const md = [
    '# Offramp benchmark report',
    '',
    `Command: \`${command}\``,
    '',
    `Environment: ${String(env.cpu)} × ${String(env.cores)} cores, Node ${String(env.node)}, commit ${String(env.commit)}, ${String(env.date)}; packages ${packages}. Run took ${result.seconds.toFixed(0)} s.`,
    '',
    `**Measured** on this host: accuracy, paths, the codec's payload bytes, bytes on the wire (counted at the link proxy: WebSocket + protocol bytes, pings included), round trips, latency for \`host\`. **Modelled**: every energy figure, and the compute share of latency on device classes other than \`host\` (the bundle's MACs ÷ the class's throughput; docs/bench/DEVICES.md). One inference every ${result.periodMs || '— (back to back)'} ms.`,
    '',
  ];
  for (const [name, title] of plots) md.push(`![${title}](${name})`, '');
  return md;
}

/** The target checks as a table. */
export function targetsSection(result: BenchResult): string[] {
  const md = ['## Targets', '', '| check | value | pass |', '|---|---|---|'];
  for (const c of targetChecks(result)) md.push(`| ${c.name} | ${c.value} | ${c.pass ? 'yes' : '**no**'} |`);
  return md;
}

/** One results table row: paths as shares, the oracle's choices, latency's provenance. */
export function resultRow(r: BenchRow): string {
  const paths = Object.entries(r.paths)
    .sort()
    .map(([k, v]) => `${k} ${((v / r.samples) * 100).toFixed(0)}%`)
    .join(', ');
  const oracle = r.oracleOf ? ` (latency: ${r.oracleOf.latency}, energy: ${r.oracleOf.energy})` : '';
  const latency = [r.latencyMsMean, r.latencyMsP50, r.latencyMsP95, r.latencyMsP99].map((x) => x.toFixed(2)).join(' / ');
  return `| ${r.bundle} | ${r.link} | ${r.device} | ${r.strategy}${oracle} | ${pct(r.accuracy)} | ${pct(r.exitRate)} | ${r.payloadBytesUp.toFixed(1)} | ${r.wireBytesUp.toFixed(1)} / ${r.wireBytesDown.toFixed(1)} | ${latency} (${r.measured.latency}) | ${(r.energyJ * 1000).toFixed(2)} (modelled) | ${paths} | ${r.lanes} (${r.pilotSamples} × ${r.pilotLatencyMsMean.toFixed(2)}) |`;
}

/** Every row of the result. */
export function resultsSection(rows: readonly BenchRow[]): string[] {
  return [
    '',
    '## Results',
    '',
    'Latency is measured for `host` and modelled for other devices; energy is modelled everywhere. Bytes are measured at the proxy.',
    '',
    "Each run starts with a serial pilot (its first samples on one device alone); the others then join it on their own connections. The last column gives the devices side by side and the pilot's mean latency, to compare with the run's mean: their gap is what sharing this host's CPU cost.",
    '',
    '| bundle | link | device | strategy | accuracy | exit rate | payload B up | wire B up / down | latency mean / p50 / p95 / p99 ms | energy mJ | paths | side by side (pilot mean ms) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(resultRow),
  ];
}

/** The emulator's fidelity per link: configured against measured through the proxy. */
export function linksSection(links: BenchResult['links']): string[] {
  const md = [
    '',
    '## Links (fidelity of the emulator, measured through the proxy; jitter and loss left out of the check)',
    '',
    '| link | configured up / down Mbps, RTT ms | measured up / down Mbps, RTT ms (min of 15 pings) | within ±5% / ±(1 ms + 5%) | radio model | source |',
    '|---|---|---|---|---|---|',
  ];
  for (const l of links) {
    const c = l.configured;
    const m = l.measured;
    const measured = Number.isFinite(m.upMbps)
      ? `${m.upMbps.toFixed(2)} / ${m.downMbps.toFixed(2)}, ${m.rttMs.toFixed(1)} (median ${m.rttMedianMs.toFixed(1)})`
      : 'n/a (outage)';
    md.push(
      `| ${l.link} | ${c.upMbps} / ${c.downMbps}, ${c.rttMs} | ${measured} | ${Number.isFinite(m.upMbps) ? (l.ok ? 'yes' : '**no**') : 'n/a'} | ${l.radio} | ${l.source} |`,
    );
  }
  return md;
}

/** The device classes' figures and sources. */
export function devicesSection(devices: BenchResult['devices']): string[] {
  const md = [
    '',
    '## Device classes (modelled; sources: docs/bench/DEVICES.md)',
    '',
    '| device | MAC/s | active W | idle W | source |',
    '|---|---|---|---|---|',
  ];
  for (const d of devices)
    md.push(`| ${d.id} (${d.name}) | ${d.macsPerSecond ? d.macsPerSecond.toExponential(2) : 'measured'} | ${d.activeW} | ${d.idleW} | ${d.source} |`);
  return md;
}

/** The radio power models' figures and sources. */
export function radiosSection(radios: BenchResult['radios']): string[] {
  const md = [
    '',
    '## Radio power models',
    '',
    "While busy (request sent until the answer or the failure): α up · megabits up + α down · megabits down + β · busy seconds (Huang et al., MobiSys 2012, integrated); then the tail until the next inference or the tail timer; a promotion after the radio went idle — decided on one modelled timeline per class and link for every strategy (inference i starts when i − 1 ended, or a period after it started), not on the host's clock.",
    '',
    '| radio | α up mW/Mbps | α down mW/Mbps | β mW | tail mW / ms | promotion mW / ms | source |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of Object.values(radios))
    md.push(
      `| ${r.name} | ${r.alphaUpMwPerMbps} | ${r.alphaDownMwPerMbps} | ${r.betaMw} | ${r.tailMw} / ${r.tailMs} | ${r.promotionMw} / ${r.promotionMs} | ${r.source} |`,
    );
  return md;
}

/** The whole report.md; `plots` are `[file, title]` in the order they appear. */
export function reportMarkdown(
  result: BenchResult,
  env: Record<string, unknown>,
  command: string,
  plots: readonly (readonly [string, string, ...unknown[]])[],
): string {
  return [
    ...headerSection(result, env, command, plots),
    ...targetsSection(result),
    ...resultsSection(result.rows),
    ...linksSection(result.links),
    ...devicesSection(result.devices),
    ...radiosSection(result.radios),
    '',
  ].join('\n');
}
