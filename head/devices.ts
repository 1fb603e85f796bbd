/**
 * Device classes and radios (data, with sources in docs/bench/DEVICES.md): what the policy, the
 * device's energy report, the benchmark and the demo use to model a device other than the one
 * they run on. A modelled device's compute time is MACs / throughput; `host` is this machine,
 * whose compute time is measured.
 */
import { OfframpError } from '../protocol/errors.js';
import type { PowerProfile, RadioModel } from './energy.js';

export type LinkName = 'lte' | '3g' | 'wifi' | '5g';

/** Radio power models (Huang et al., MobiSys 2012; 5G: Narayanan et al., SIGCOMM 2021); sources and caveats in DEVICES.md. */
export const RADIOS: Readonly<Record<LinkName, RadioModel>> = Object.freeze({
  lte: {
    id: 'lte',
    name: 'LTE',
    alphaUpMwPerMbps: 438.39,
    alphaDownMwPerMbps: 51.97,
    betaMw: 1288.04,
    promotionMw: 1210.7,
    promotionMs: 260.1,
    tailMw: 1060.0,
    tailMs: 11576.0,
    source: 'Huang et al., MobiSys 2012 (alphas and tail power checked against AT&T ARO LTE profile)',
  },
  '3g': {
    id: '3g',
    name: '3G',
    alphaUpMwPerMbps: 868.98,
    alphaDownMwPerMbps: 122.12,
    betaMw: 817.88,
    promotionMw: 659.4,
    promotionMs: 582.1,
    tailMw: 785.2,
    tailMs: 8912.4,
    source: 'Huang et al., MobiSys 2012 (DCH and FACH tails time-weighted)',
  },
  wifi: {
    id: 'wifi',
    name: 'WiFi',
    alphaUpMwPerMbps: 283.17,
    alphaDownMwPerMbps: 137.01,
    betaMw: 132.86,
    promotionMw: 124.4,
    promotionMs: 79.1,
    tailMw: 119.3,
    tailMs: 238.1,
    source: 'Huang et al., MobiSys 2012 (tail time checked against AT&T ARO)',
  },
  '5g': {
    id: '5g',
    name: '5G NSA mmWave',
    alphaUpMwPerMbps: 9.42,
    alphaDownMwPerMbps: 1.81,
    betaMw: 3892,
    promotionMw: 1210.7,
    promotionMs: 260.1,
    tailMw: 3664,
    tailMs: 10000,
    source: 'Narayanan et al., SIGCOMM 2021 artifact (alphas fitted, tail time measured; beta, tail power, promotion assumed)',
  },
});

/** A class of device: how fast it computes, what it draws. */
export interface DeviceClass {
  id: string;
  name: string;
  /** Effective multiply-accumulates per second on small CNNs; absent: compute time is measured (host). */
  macsPerSecond?: number;
  /** Power while computing, and while waiting, W. */
  activeW: number;
  idleW: number;
  /** Links the class typically has. */
  links: LinkName[];
  source: string;
}

export const DEVICE_CLASSES: Readonly<Record<string, DeviceClass>> = Object.freeze({
  host: {
    id: 'host',
    name: 'this machine (measured)',
    activeW: 15,
    idleW: 5,
    links: ['lte', '3g', 'wifi', '5g'],
    source: 'compute time measured; 15 W active / 5 W idle assumed for two busy server cores (no power counters here)',
  },
  mcu: {
    id: 'mcu',
    name: 'microcontroller (ESP32-S3 class)',
    macsPerSecond: 1.39e8,
    activeW: 0.235,
    idleW: 0.105,
    links: ['wifi'],
    source: 'ESP-NN person detection 7.5 M MAC in 54 ms; power: DEVICES.md',
  },
  'phone-low': {
    id: 'phone-low',
    name: 'low-end phone (4× Cortex-A53)',
    macsPerSecond: 6.32e9,
    activeW: 1.94,
    idleW: 0.5,
    links: ['lte', '3g', 'wifi'],
    source: 'ncnn MobileNetV1 on Snapdragon 410; power: DEVICES.md',
  },
  'phone-mid': {
    id: 'phone-mid',
    name: 'mid-range phone (Cortex-A76 class)',
    macsPerSecond: 4.01e10,
    activeW: 3.0,
    idleW: 0.5,
    links: ['5g', 'lte', '3g', 'wifi'],
    source: 'ncnn MobileNetV1 on Snapdragon 765G; power assumed: DEVICES.md',
  },
  rpi4: {
    id: 'rpi4',
    name: 'Raspberry Pi 4 (4× Cortex-A72)',
    macsPerSecond: 9.3e9,
    activeW: 6.4,
    idleW: 2.7,
    links: ['wifi'],
    source: 'ncnn MobileNetV1 on a Pi 4; power: pidramble.com',
  },
  laptop: {
    id: 'laptop',
    name: 'laptop (Core i7, one thread)',
    macsPerSecond: 2.5e10,
    activeW: 25,
    idleW: 8,
    links: ['wifi'],
    source: 'ncnn MobileNetV1 on an i7-9750H, one thread; power assumed: DEVICES.md',
  },
});

/** A device as the SDK models it: a class on one radio. */
export interface DeviceProfile {
  name: string;
  device: DeviceClass;
  radio: RadioModel;
  /** The app starts one inference every this many ms (0: back to back); sets how long radio tails last. */
  periodMs: number;
}

/** The power side of a profile, for inferenceEnergy. */
export function power(p: DeviceProfile): PowerProfile {
  return { activeW: p.device.activeW, idleW: p.device.idleW, radio: p.radio, periodMs: p.periodMs };
}

/** The class named `id`; throws OfframpError INVALID_ARGUMENT naming the known ones. */
export function deviceClass(id: string): DeviceClass {
  const d = DEVICE_CLASSES[id];
  if (!d) throw new OfframpError('INVALID_ARGUMENT', `unknown device class '${id}': use one of ${Object.keys(DEVICE_CLASSES).join(', ')}`);
  return d;
}

/** The profile of class `id` on `link`. */
export function deviceProfile(id: string, link: LinkName, periodMs = 0): DeviceProfile {
  const device = deviceClass(id);
  const radio = RADIOS[link];
  if (!radio) throw new OfframpError('INVALID_ARGUMENT', `unknown link '${link}': use one of ${Object.keys(RADIOS).join(', ')}`);
  return { name: `${device.id} on ${link}`, device, radio, periodMs };
}

/** Compute time on the profile's device: modelled from MACs, or the measured time (host). */
export function computeMs(device: DeviceClass, macs: number | undefined, measuredMs: number): number {
  return device.macsPerSecond !== undefined && macs !== undefined ? (macs / device.macsPerSecond) * 1000 : measuredMs;
}
