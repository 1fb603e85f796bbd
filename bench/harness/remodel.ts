/**
 * The remodel-per-device-class step: a run's host-measured results as they would be on a device
 * class, with the SDK's own functions (head/devices.ts, head/energy.ts).
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
export function remodel(r: InferResult, device: DeviceClass, link: LinkName, periodMs: number, macs: Macs): { latencyMs: number; energyJ: number } {
  const m = r.measured;
  const head = m.head > 0 ? computeMs(device, macs.head, m.head) : 0;
  const local = m.local > 0 ? computeMs(device, macs.full, m.local) : 0;
  const compute = head + m.encode + local;
  const latencyMs = compute + m.busy;
  const e = inferenceEnergy(power(deviceProfile(device.id, link, periodMs)), {
    computeMs: compute,
    totalMs: latencyMs,
    ...(m.busy > 0 ? { transfer: { upBytes: r.bytesUp, downBytes: r.bytesDown, busyMs: m.busy, promoted: false } } : {}),
  });
  return { latencyMs, energyJ: e.totalJ };
}

/** How a run's samples are taken on a device class: as reported (the run modelled this class), or re-modelled from host measurements. */
export type ModelFrom = { asReported: true } | { asReported: false; device: DeviceClass; link: LinkName; periodMs: number; macs: Macs };

/**
 * A run's samples on a device class, scored against `labels` (null: not scored). Only requests
 * that left the device count their payload (`crossed`).
 */
export function modelSamples(run: LaneRun, labels: readonly (number | null)[], from: ModelFrom): Modelled[] {
  return run.results.map((r, i) => {
    const lab = labels[i]!;
    const { latencyMs, energyJ } = from.asReported
      ? { latencyMs: r.timings.total, energyJ: r.energy.totalJ }
      : remodel(r, from.device, from.link, from.periodMs, from.macs);
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
