/**
 * Device profiles for the benchmark: a compute slow-down relative to this host (the factor
 * scales measured compute time) and a compute power draw. Only `host` compute time is measured;
 * every power figure, and every other device's compute time, is modelled — reports say so.
 */
import type { DeviceProfile } from '../head/policy.js';
import { RADIOS } from '../head/policy.js';

export interface NamedDevice {
  name: string;
  /** Compute time = measured host time × this. */
  slowdown: number;
  computePowerW: number;
  source: string;
}

export const DEVICES: Readonly<Record<string, NamedDevice>> = Object.freeze({
  host: { name: 'host', slowdown: 1, computePowerW: 15, source: 'this machine, compute time measured; 15 W for two busy server cores is assumed (no power counters here)' },
  rpi4: { name: 'rpi4', slowdown: 8, computePowerW: 6.4, source: 'Raspberry Pi 4 (4× Cortex-A72, 1.5 GHz): 8× slower than this host for small CNNs in onnxruntime and 6.4 W under full CPU load, both assumed from public measurements' },
  'jetson-nano-5w': { name: 'jetson-nano-5w', slowdown: 10, computePowerW: 5, source: 'Jetson Nano in its 5 W mode, CPU only (2× Cortex-A57 online): 10× slower than this host, assumed; 5 W is the mode\'s cap' },
});

/** A named device or a custom `name:slowdown:watts`. */
export function parseDevice(spec: string): NamedDevice {
  const named = DEVICES[spec];
  if (named) return named;
  const parts = spec.split(':');
  const slowdown = Number(parts[1]);
  const watts = Number(parts[2]);
  if (parts.length !== 3 || !parts[0] || !(slowdown > 0) || !(watts > 0)) throw new RangeError(`unknown device '${spec}': use one of ${Object.keys(DEVICES).join(', ')} or name:slowdown:watts`);
  return { name: parts[0], slowdown, computePowerW: watts, source: 'custom (from flags)' };
}

/** The SDK's profile for a device on a link with the given radio. */
export function deviceProfile(d: NamedDevice, radio: keyof typeof RADIOS): DeviceProfile {
  return { name: d.name, computePowerW: d.computePowerW, radio: RADIOS[radio], computeSlowdown: d.slowdown };
}
