import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeMs,
  createDevice,
  DEVICE_CLASSES,
  deviceClass,
  deviceProfile,
  RADIOS,
  type Device,
  type DeviceOptions,
  type InferResult,
  type LinkEstimate,
} from '../../head/index.js';
import { power } from '../../head/devices.js';
import { computeEnergyJ, idleAfter, inferenceEnergy, transferEnergyJ } from '../../head/energy.js';
import { localCost, sendCost } from '../../head/policy.js';
import { createEdgeServer, type EdgeServer } from '../../tail/index.js';
import { loadGolden, MODELS, TINY, type Golden } from './helpers.js';

/** Equal within 1e-12 relative (the hand values are exact decimals; the code sums binary floats). */
function expectJ(got: number, want: number, rel = 1e-12): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * Math.abs(want));
}

describe('transferEnergyJ (α per megabit each way + β per second busy + tail + promotion)', () => {
  it('LTE: 1000 B up, 100 B down, 50 ms busy, idle past the tail timer (capped at 11,576 ms), promoted', () => {
    // 438.39·0.008 + 51.97·0.0008 + 1288.04·0.05 + 1060·11.576 + 1210.7·0.2601 = 12,653.413766 mJ
    expectJ(transferEnergyJ(RADIOS.lte, { upBytes: 1000, downBytes: 100, busyMs: 50, idleAfterMs: 20_000, promoted: true }), 12.653413766);
  });

  it('Wi-Fi: 1 Mbit up, nothing down, 100 ms of tail (inside its 238.1 ms timer), not promoted', () => {
    // 283.17·1 + 119.3·0.1 = 295.1 mJ
    expectJ(transferEnergyJ(RADIOS.wifi, { upBytes: 125_000, downBytes: 0, busyMs: 0, idleAfterMs: 100, promoted: false }), 0.2951);
  });

  it('3G: 2 Mbit down, 1 s busy; a negative idle time counts as none', () => {
    // 122.12·2 + 817.88·1 = 1062.12 mJ
    expectJ(transferEnergyJ(RADIOS['3g'], { upBytes: 0, downBytes: 250_000, busyMs: 1000, idleAfterMs: -5, promoted: false }), 1.06212);
  });

  it('5G: a promotion alone (1210.7 mW for 260.1 ms)', () => {
    expectJ(transferEnergyJ(RADIOS['5g'], { upBytes: 0, downBytes: 0, busyMs: 0, idleAfterMs: 0, promoted: true }), 0.31490307);
    expect(transferEnergyJ(RADIOS['5g'], { upBytes: 0, downBytes: 0, busyMs: 0, idleAfterMs: 0, promoted: false })).toBe(0);
  });
});

describe('computeEnergyJ, idleAfter', () => {
  it('compute energy is watts × seconds', () => {
    expect(computeEnergyJ(2, 40)).toBe(0.08);
    expect(computeEnergyJ(0.235, 1000)).toBe(0.235);
    expect(computeEnergyJ(15, 0)).toBe(0);
  });

  it('the idle time after a request is the rest of the period (none back to back, none when late)', () => {
    expect(idleAfter(1000, 300)).toBe(700);
    expect(idleAfter(0, 5)).toBe(0);
    expect(idleAfter(100, 300)).toBe(0);
  });
});

describe('inferenceEnergy (compute at active power, waiting at idle power, the radio)', () => {
  it('an answer on the device: compute only', () => {
    const e = inferenceEnergy(power(deviceProfile('mcu', 'wifi')), { computeMs: 10, totalMs: 10 });
    expectJ(e.computeJ, 0.00235);
    expect(e.radioJ).toBe(0);
    expect(e.totalJ).toBe(e.computeJ);
  });

  it('a send: 1 Mbit up over Wi-Fi, 50 ms busy, one inference every 300 ms (tail capped at 238.1 ms)', () => {
    const p = { activeW: 2, idleW: 0.5, radio: RADIOS.wifi, periodMs: 300 };
    const e = inferenceEnergy(p, { computeMs: 10, totalMs: 60, transfer: { upBytes: 125_000, downBytes: 0, busyMs: 50, promoted: false } });
    // compute 2 W · 10 ms + 0.5 W · 50 ms = 45 mJ; radio 283.17 + 132.86 · 0.05 + 119.3 · 0.2381 = 318.21833 mJ
    expectJ(e.computeJ, 0.045);
    expectJ(e.radioJ, 0.31821833);
    expectJ(e.totalJ, 0.36321833);
  });

  it('power() is the profile’s power side', () => {
    expect(power(deviceProfile('phone-mid', '5g', 40))).toEqual({ activeW: 3, idleW: 0.5, radio: RADIOS['5g'], periodMs: 40 });
  });
});

describe('device classes', () => {
  it('models compute time from MACs where the class has a throughput, and measures it on the host', () => {
    expect(computeMs(DEVICE_CLASSES.mcu!, 12_544, 99)).toBe((12_544 / 1.39e8) * 1000);
    expect(computeMs(DEVICE_CLASSES.rpi4!, 23_520, 99)).toBe((23_520 / 9.3e9) * 1000);
    expect(computeMs(DEVICE_CLASSES.host!, 12_544, 7)).toBe(7);
    expect(computeMs(DEVICE_CLASSES.mcu!, undefined, 7)).toBe(7);
  });

  it('names profiles and refuses unknown classes and links', () => {
    expect(deviceProfile('phone-low', 'lte', 250)).toEqual({ name: 'phone-low on lte', device: DEVICE_CLASSES['phone-low'], radio: RADIOS.lte, periodMs: 250 });
    expect(() => deviceClass('toaster')).toThrow(
      expect.objectContaining({
        name: 'OfframpError',
        code: 'INVALID_ARGUMENT',
        message: "unknown device class 'toaster': use one of host, mcu, phone-low, phone-mid, rpi4, laptop",
      }),
    );
    expect(() => deviceProfile('mcu', 'pigeon' as 'wifi')).toThrow(
      expect.objectContaining({ name: 'OfframpError', code: 'INVALID_ARGUMENT', message: "unknown link 'pigeon': use one of lte, 3g, wifi, 5g" }),
    );
  });
});

describe('one energy model: the policy’s estimate equals the device’s report', () => {
  let golden: Golden;
  let edge: EdgeServer;
  const devices: Device[] = [];
  beforeAll(async () => {
    golden = await loadGolden();
    edge = await createEdgeServer({ models: MODELS, port: 0, workers: 1 });
  });
  afterAll(async () => {
    await Promise.all(devices.map((d) => d.close()));
    await edge.close();
  });

  async function firstAnswer(options: Omit<DeviceOptions, 'bundle'>, i = 1): Promise<{ d: Device; r: InferResult }> {
    const d = await createDevice({ bundle: TINY, ...options });
    devices.push(d);
    return { d, r: await d.infer(Uint8Array.from(golden.images[i]!)) };
  }

  // Unused when the send's busy time is given (the estimate then rests on the measured round trip).
  const link: LinkEstimate = { available: true, rttMs: 50, uplinkBps: 1e6, downlinkBps: 1e6 };

  /**
   * The policy's figure for what the device did: sendCost for the same bytes and busy time (the
   * radio idle before: the first transfer pays a promotion; the head and encoding before it,
   * which delay where the radio's tail ends), plus that compute at active power.
   */
  function policyEnergy(d: Device, r: InferResult): number {
    const busyMs = r.measured.busy;
    expect(busyMs).toBeCloseTo(r.timings.network + r.timings.server.queue + r.timings.server.decode + r.timings.server.compute, 9);
    const send = sendCost({ bytesUp: r.bytesUp, bytesDown: r.bytesDown, serverMs: 0, busyMs }, link, d.profile, Infinity, 0, r.timings.head + r.timings.encode);
    return send.energyJ + computeEnergyJ(d.profile.device.activeW, r.timings.head + r.timings.encode);
  }

  it.each([
    ['mcu on wifi, back to back', { device: 'mcu', link: 'wifi' as const }],
    ['phone-low on lte, back to back', { device: 'phone-low', link: 'lte' as const }],
    ['phone-low on lte, one inference every 10 s (inside the 11.6 s tail)', { device: 'phone-low', link: 'lte' as const, periodMs: 10_000 }],
    ['rpi4 on wifi, one inference every 100 ms (inside the 238 ms tail)', { device: 'rpi4', link: 'wifi' as const, periodMs: 100 }],
  ])('an offload (always-offload, rate point 0): %s', async (_name, profile) => {
    const { d, r } = await firstAnswer({ edge: edge.url, profile, policy: { force: 'always-offload', ratePoint: 0 } });
    expect(r.path).toBe('edge');
    expectJ(r.energy.totalJ, policyEnergy(d, r), 1e-9);
    expectJ(r.energy.computeJ + r.energy.radioJ, r.energy.totalJ, 1e-15);
  });

  it('a full offload (the raw input, no head): mcu on wifi', async () => {
    const { d, r } = await firstAnswer({ edge: edge.url, profile: { device: 'mcu', link: 'wifi' }, policy: { force: 'full-offload' } });
    expect(r).toMatchObject({ path: 'edge', ratePoint: 'input' });
    expect(r.timings.head).toBe(0);
    expectJ(r.energy.totalJ, policyEnergy(d, r), 1e-9);
  });

  it('a local answer: localCost for the modelled local time', async () => {
    const { d, r } = await firstAnswer({ profile: { device: 'mcu', link: 'wifi' }, policy: { force: 'always-local' } });
    const costs = { headMs: 0, localMs: r.timings.local, split: new Map(), full: { bytesUp: 0, bytesDown: 0, serverMs: 0 }, sinceTransferMs: Infinity };
    expect(r.energy.totalJ).toBe(localCost(costs, d.profile, 0).energyJ);
    expect(r.energy.radioJ).toBe(0);
  });
});
