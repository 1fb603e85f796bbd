/** The report's plots as vega-lite specs: latency against uplink, energy per strategy and link, exit rate against accuracy loss. */
import type { TopLevelSpec } from 'vega-lite';
import type { Manifest } from '../../protocol/manifest.js';
import type { BenchResult } from './run.js';

/** A plot: its file name, its title in the report, its spec. */
export type Plot = [name: string, title: string, spec: TopLevelSpec];

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** The rows the plots draw (every strategy but the oracle), with the link's configured uplink and energy in mJ. */
export function plotRows(result: BenchResult): Record<string, unknown>[] {
  const uplink = new Map(result.links.map((l) => [l.link, l.configured.upMbps]));
  return result.rows.filter((r) => r.strategy !== 'oracle').map((r) => ({ ...r, upMbps: uplink.get(r.link) ?? 0, energyMj: r.energyJ * 1000 }));
}

/** Mean latency against uplink bandwidth, log-log, a panel per device and bundle. */
export function latencySpec(rows: Record<string, unknown>[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'Mean latency vs uplink bandwidth (host measured; other devices modelled)',
    data: { values: rows },
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
}

/** Energy per inference, a bar per strategy, a panel per link and device. */
export function energySpec(rows: Record<string, unknown>[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'Energy per inference by strategy and link (modelled)',
    data: { values: rows },
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
}

/** A point of an exit calibration table: the share of samples that exit, and the accuracy lost against the default rate point's split accuracy (points). */
export interface ExitPoint {
  bundle: string;
  threshold: number;
  exitRate: number;
  lossPt: number;
}

/** Every bundle's first exit's calibration table as points. */
export function exitPoints(manifests: readonly Manifest[]): ExitPoint[] {
  return manifests.flatMap((m) => {
    const split = m.bottleneck.ratePoints[m.bottleneck.defaultRatePoint]?.accuracy ?? 0;
    return (m.exits[0]?.thresholds ?? []).map((t) => ({
      bundle: m.id,
      threshold: t.threshold,
      exitRate: t.exitRate,
      lossPt: (split - t.overallAccuracy) * 100,
    }));
  });
}

/** Exit rate against accuracy loss, a line per bundle. */
export function exitSpec(points: ExitPoint[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title: 'Exit rate vs accuracy loss against the split model (calibration table, validation split)',
    width: 420,
    height: 260,
    data: { values: points },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'lossPt', type: 'quantitative', title: 'accuracy loss (points)' },
      y: { field: 'exitRate', type: 'quantitative', title: 'share of samples exiting on the device', axis: { format: '%' } },
      color: { field: 'bundle', type: 'nominal' },
      order: { field: 'threshold' },
      tooltip: [{ field: 'threshold' }],
    },
  };
}

/** The report's plots: latency and energy always, exit rate when a bundle has an exit table. */
export function reportPlots(result: BenchResult, manifests: readonly Manifest[]): Plot[] {
  const rows = plotRows(result);
  const plots: Plot[] = [
    ['latency-vs-uplink.svg', 'Latency vs uplink bandwidth', latencySpec(rows)],
    ['energy.svg', 'Energy per strategy and link', energySpec(rows)],
  ];
  const points = exitPoints(manifests);
  if (points.length) plots.push(['exit-rate.svg', 'Exit rate vs accuracy loss', exitSpec(points)]);
  return plots;
}
