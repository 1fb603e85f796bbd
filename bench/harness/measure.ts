/** The measure step: one strategy's run of a workload through real devices on an emulated link, and what the link itself measures. */
import { createDevice, type Device } from '../../head/device.js';
import type { DeviceClass } from '../../head/devices.js';
import type { PolicyOptions } from '../../head/policy.js';
import type { NamedLink } from '../../link/profiles.js';
import type { LinkProxy } from '../../link/proxy.js';
import { runLanes, type LaneRun } from '../../scenario/lanes.js';
import { configuredLink, measureLink, type LinkFidelity } from '../link/fidelity.js';
import type { Work } from './workload.js';

/** What every run of a benchmark shares. */
export interface MeasureSettings {
  deadlineMs: number;
  periodMs: number;
  warmup: number;
  pilot: number;
  parallel: number | 'auto';
  /** Called after each measured inference. */
  onResult: () => void;
}

/**
 * Runs `b`'s inputs through devices of class `device` with `policy`, through `proxy` to the edge
 * (no proxy: no edge). Devices wait to connect first unless the link has outages.
 */
export function measureRun(
  b: Work,
  policy: Partial<PolicyOptions>,
  device: DeviceClass,
  link: NamedLink,
  proxy: LinkProxy | undefined,
  s: MeasureSettings,
): Promise<LaneRun> {
  const reachable = proxy !== undefined && (link.profile.outages ?? []).length === 0;
  const make = (): Promise<Device> =>
    createDevice({
      bundle: b.dir,
      policy,
      deadlineMs: s.deadlineMs,
      profile: { device: device.id, link: link.radio, periodMs: s.periodMs },
      ...(proxy ? { edge: `ws://127.0.0.1:${proxy.port}` } : {}),
    });
  return runLanes({
    make,
    inputs: b.inputs,
    warmup: s.warmup,
    pilot: s.pilot,
    parallel: s.parallel,
    ...(reachable ? { connectMs: Math.max(2000, s.deadlineMs) } : {}),
    ...(proxy ? { bytes: () => proxy.bytes() } : {}),
    onResult: s.onResult,
  });
}

/** The link's fidelity, measured through a proxy; a link with outages is not measured (NaN figures, ok). */
export async function linkFidelity(link: NamedLink): Promise<LinkFidelity> {
  if ((link.profile.outages ?? []).length === 0) return measureLink(link.profile);
  return {
    link: link.profile.name,
    configured: configuredLink(link.profile),
    measured: { upMbps: NaN, downMbps: NaN, rttMs: NaN, rttMedianMs: NaN },
    ok: true,
  };
}
