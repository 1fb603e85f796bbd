/**
 * The remodel-per-device-class step: a run's host-measured results as they would be on a device
 * class, with the SDK's own functions (head/devices.ts, head/energy.ts), on one modelled timeline
 * (the run's inferences one after another on one device): a transfer pays the radio's promotion
 * when the modelled time since the previous transfer passed the radio's tail, for every strategy
 * alike (the host's wall clock, which the SDK's own report uses, runs at the host's speed).
 */
import { computeMs, deviceProfile, power, type DeviceClass, type LinkName } from '../../head/devices.js';
import type { InferResult } from '../../head/device.js';
import { inferenceEnergy } from '../../head/energy.js';
import type { Manifest } from '../../protocol/manifest.js';
import type { LaneRun } from '../../scenario/lanes.js';

/** One inference as the rows need it, on a given device class. */
export interface Modelled {
  correct: boolean | null;
  path: string;
  reason?: string;
  ratePoint?: string;
  payloadBytes: number;
  crossed: boolean;
  latencyMs: number;
  energyJ: number;
}

/** The MACs a device class's compute time is modelled from. */
export interface Macs {
  head?: number;
  full?: number;
}

/** A bundle's MACs: the head with its exits, and the full model (undefined where the manifest has none). */
export function bundleMacs(m: Manifest): Macs {
  return { head: m.macs ? m.macs.head + (m.macs.exits ?? 0) : undefined, full: m.macs?.full };
}

/**
 * A host-measured result as it would be on `device` on `link` (the same functions the SDK uses):
 * compute from MACs (or as measured, for `host`), the round trip as measured, energy re-modelled.
 */
export function remodel(
  r: InferResult,
  device: DeviceClass,
  link: LinkName,
  periodMs: number,
  macs: Macs,
  promoted = false,
): { latencyMs: number; energyJ: number } {
  const m = r.measured;
  const head = m.head > 0 ? computeMs(device, macs.head, m.head) : 0;
  const local = m.local > 0 ? computeMs(device, macs.full, m.local) : 0;
  const compute = head + m.encode + local;
  const latencyMs = compute + m.busy;
  const e = inferenceEnergy(power(deviceProfile(device.id, link, periodMs)), {
    computeMs: compute,
    totalMs: latencyMs,
    ...(m.busy > 0 ? { transfer: { upBytes: r.bytesUp, downBytes: r.bytesDown, busyMs: m.busy, promoted } } : {}),
  });
  return { latencyMs, energyJ: e.totalJ };
}

/**
 * A run's results on one modelled timeline: inference i starts when i-1 ended (or a period after
 * i-1 started, whichever is later); a transfer is promoted when the time since the previous
 * transfer ended passed the radio's tail (the first always is: the SDK's rule, head/costs.ts, on
 * the modelled clock instead of the host's). Each result's latency, energy and whether it woke the
 * radio; one remodel() each (two for a promoted one).
 */
export function modelTimeline(
  results: readonly InferResult[],
  device: DeviceClass,
  link: LinkName,
  periodMs: number,
  macs: Macs,
): { latencyMs: number; energyJ: number; promoted: boolean }[] {
  const tailMs = deviceProfile(device.id, link, periodMs).radio.tailMs;
  let clock = 0;
  let lastTransferEnd = -Infinity;
  return results.map((r) => {
    const plain = remodel(r, device, link, periodMs, macs);
    const crossed = r.measured.busy > 0;
    const promoted = crossed && clock - lastTransferEnd > tailMs;
    if (crossed) lastTransferEnd = clock + plain.latencyMs;
    clock += Math.max(plain.latencyMs, periodMs);
    return { ...(promoted ? remodel(r, device, link, periodMs, macs, true) : plain), promoted };
  });
}

/**
 * How a run's samples are taken on a device class: its latency as reported (the run modelled this
 * class) or re-modelled from host measurements; its energy re-modelled either way, on the timeline.
 */
export interface ModelFrom {
  asReported: boolean;
  device: DeviceClass;
  link: LinkName;
  periodMs: number;
  macs: Macs;
}

/**
 * A run's samples on a device class, scored against `labels` (null: not scored). Only requests
 * that left the device count their payload (`crossed`).
 */
export function modelSamples(run: LaneRun, labels: readonly (number | null)[], from: ModelFrom): Modelled[] {
  const timeline = modelTimeline(run.results, from.device, from.link, from.periodMs, from.macs);
  return run.results.map((r, i) => {
    const lab = labels[i]!;
    const modelled = timeline[i]!;
    const latencyMs = from.asReported ? r.timings.total : modelled.latencyMs;
    const energyJ = modelled.energyJ;
    return {
      correct: lab === null ? null : r.label === lab,
      path: r.path,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.ratePoint ? { ratePoint: r.ratePoint } : {}),
      payloadBytes: r.bytesUp > 0 ? r.payloadBytes : 0,
      crossed: r.bytesUp > 0,
      latencyMs,
      energyJ,
    };
  });
}
