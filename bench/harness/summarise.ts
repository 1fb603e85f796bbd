/** The summarise step: a run's modelled samples as one row of the result, and the oracle row from the baselines'. */
import type { DeviceClass } from '../../head/devices.js';
import type { NamedLink } from '../../link/profiles.js';
import type { LaneRun } from '../../scenario/lanes.js';
import { percentile } from '../stats.js';
import type { Modelled } from './remodel.js';
import type { BenchRow, Strategy } from './run.js';

/** How many samples give each value of `key` (undefined: not counted). */
export function tally(samples: readonly Modelled[], key: (s: Modelled) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    const k = key(s);
    if (k !== undefined) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** One row: accuracy over the labelled samples, rates and bytes per inference, latency percentiles, mean energy, the pilot's mean latency. */
export function summarize(bundle: string, link: NamedLink, device: DeviceClass, strategy: Strategy, run: LaneRun, samples: Modelled[]): BenchRow {
  const n = samples.length;
  const latency = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const pilot = samples.slice(0, run.pilot);
  const scored = samples.filter((s) => s.correct !== null);
  return {
    bundle,
    link: link.profile.name,
    device: device.id,
    strategy,
    samples: n,
    accuracy: scored.length ? scored.filter((s) => s.correct).length / scored.length : null,
    exitRate: samples.filter((s) => s.path.startsWith('exit:')).length / n,
    payloadBytesUp: samples.reduce((a, s) => a + s.payloadBytes, 0) / n,
    wireBytesUp: run.wireUp / n,
    wireBytesDown: run.wireDown / n,
    requestsPerInference: samples.filter((s) => s.crossed).length / n,
    latencyMsMean: latency.reduce((a, b) => a + b, 0) / n,
    latencyMsP50: percentile(latency, 50),
    latencyMsP95: percentile(latency, 95),
    latencyMsP99: percentile(latency, 99),
    energyJ: samples.reduce((a, s) => a + s.energyJ, 0) / n,
    paths: tally(samples, (s) => s.path),
    fallbacks: tally(samples, (s) => s.reason),
    ratePoints: tally(samples, (s) => (s.crossed ? s.ratePoint : undefined)),
    measured: { accuracy: 'measured', bytes: 'measured', latency: device.macsPerSecond === undefined ? 'measured' : 'modelled', energy: 'modelled' },
    lanes: run.lanes,
    pilotSamples: pilot.length,
    pilotLatencyMsMean: pilot.length ? pilot.reduce((a, s) => a + s.latencyMs, 0) / pilot.length : NaN,
  };
}

/** The oracle: the baseline row with the lowest mean latency, with the lowest energy of any baseline (first wins ties). */
export function oracleRow(baseRows: readonly BenchRow[]): BenchRow {
  const bestLatency = baseRows.reduce((a, r) => (r.latencyMsMean < a.latencyMsMean ? r : a));
  const bestEnergy = baseRows.reduce((a, r) => (r.energyJ < a.energyJ ? r : a));
  return {
    ...bestLatency,
    strategy: 'oracle',
    energyJ: bestEnergy.energyJ,
    oracleOf: { latency: bestLatency.strategy, energy: bestEnergy.strategy },
  };
}
