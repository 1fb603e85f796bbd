import { describe, expect, it } from 'vitest';
import { decide, fullOffloadFirst, offloadCost, radioEnergyJ, RADIOS, thresholdFor, type CostInputs, type DeviceProfile, type LinkEstimate, type PolicyModel } from '../../head/policy.js';

const exitSpec = {
  output: 'exit0_logits',
  confidence: 'max-prob' as const,
  recommendedThreshold: 0.9,
  thresholds: [
    { threshold: 0.5, exitRate: 0.9, exitAccuracy: 0.9, overallAccuracy: 0.90 },
    { threshold: 0.8, exitRate: 0.7, exitAccuracy: 0.97, overallAccuracy: 0.935 },
    { threshold: 0.9, exitRate: 0.6, exitAccuracy: 0.99, overallAccuracy: 0.938 },
    { threshold: 0.99, exitRate: 0.3, exitAccuracy: 1, overallAccuracy: 0.941 },
  ],
};

const device: DeviceProfile = { name: 'test', computePowerW: 2, radio: RADIOS.lte };
const link: LinkEstimate = { available: true, rttMs: 50, uplinkBps: 10e6, downlinkBps: 10e6 };
const model: PolicyModel = { thresholds: [0.9], bits: [2, 4, 8], splitAccuracy: { 2: 0.93, 4: 0.94, 8: 0.942 }, localAccuracy: 0.945, exitRate: 0.6 };
const costs: CostInputs = { localMs: 40, serverMs: 2, requestBytes: { 2: 60, 4: 90, 8: 150 }, responseBytes: 80 };
const unsure = [{ label: 3, confidence: 0.5 }];

describe('thresholdFor', () => {
  it('picks the lowest threshold within the loss, or the last row', () => {
    expect(thresholdFor(exitSpec, 0.942, 0.005)).toBe(0.9);
    expect(thresholdFor(exitSpec, 0.942, 0.01)).toBe(0.8);
    expect(thresholdFor(exitSpec, 0.942, 0.1)).toBe(0.5);
    expect(thresholdFor(exitSpec, 0.99, 0)).toBe(0.99);
  });
});

describe('radio energy (P = α·throughput + β)', () => {
  it('matches a hand computation for LTE: α per megabit sent, β per second busy', () => {
    // active = 8000/1e7 + 800/1e7 + 0.05 s = 0.05088 s; 1000 B = 0.008 Mbit
    // E = 438.39 mW/Mbps · 0.008 Mbit + 1288.04 mW · 0.05088 s
    expect(radioEnergyJ(RADIOS.lte, link, 1000, 100)).toBeCloseTo((438.39 * 0.008 + 1288.04 * 0.05088) / 1000, 12);
  });
  it('charges the idle part of a round trip at β only, whatever the link capacity', () => {
    const slow = radioEnergyJ(RADIOS.wifi, { ...link, uplinkBps: 1e6 }, 0, 0);
    const fast = radioEnergyJ(RADIOS.wifi, { ...link, uplinkBps: 1e9 }, 0, 0);
    expect(slow).toBeCloseTo((132.86 * 0.05) / 1000, 12);
    expect(fast).toBe(slow);
  });
  it('prices an offload as RTT + transfer + server time', () => {
    const c = offloadCost(4, costs, link, device, 0.94);
    expect(c.latencyMs).toBeCloseTo(50 + 0.072 + 0.064 + 2, 10);
  });
});

describe('decide', () => {
  it('takes the first exit that clears its threshold', () => {
    expect(decide(model, [{ label: 7, confidence: 0.95 }], costs, link, device, { objective: 'latency', maxAccuracyLoss: 0.005 })).toEqual({ kind: 'exit', exit: 0, label: 7, confidence: 0.95 });
  });

  it('objective latency: offloads when the link beats local compute, stays local when it does not', () => {
    // 20 ms RTT + ~0.1 ms transfer + 2 ms server < 40 ms local
    const d = decide(model, unsure, costs, { ...link, rttMs: 20 }, device, { objective: 'latency', maxAccuracyLoss: 0.005 });
    expect(d.kind === 'offload' && d.bits).toBe(2); // fewest bytes, fastest
    const slow: LinkEstimate = { ...link, rttMs: 300 };
    expect(decide(model, unsure, costs, slow, device, { objective: 'latency', maxAccuracyLoss: 0.005 }).kind).toBe('local');
  });

  it('objective energy: compares radio energy with compute energy', () => {
    // LTE offload at 2 bits, the radio up from request to answer (RTT + transfers + 2 ms server):
    // 438.39 mW/Mbps · 0.00048 Mbit + 1288.04 mW · (0.05 + 480/1e7 + 640/1e7 + 0.002) s ≈ 0.06733 J
    const e = (438.39 * 0.00048 + 1288.04 * 0.052112) / 1000;
    const d = decide(model, unsure, costs, link, device, { objective: 'energy', maxAccuracyLoss: 0.005 });
    expect(d.kind === 'offload' && d.expected.energyJ).toBeCloseTo(e, 12);
    // local: 2 W · 40 ms = 0.08 J > 0.0673 J → offload; 2 W · 30 ms = 0.06 J → local
    expect(d.kind === 'offload' && d.bits).toBe(2);
    expect(decide(model, unsure, { ...costs, localMs: 30 }, link, device, { objective: 'energy', maxAccuracyLoss: 0.005 }).kind).toBe('local');
    // Wi-Fi's β is a tenth of LTE's: the same 30 ms of local compute loses to it
    const wifi: DeviceProfile = { ...device, radio: RADIOS.wifi };
    expect(decide(model, unsure, { ...costs, localMs: 30 }, link, wifi, { objective: 'energy', maxAccuracyLoss: 0.005 }).kind).toBe('offload');
  });

  it('objective accuracy: the most accurate option inside the latency budget', () => {
    const d = decide(model, unsure, { ...costs, localMs: 500 }, link, device, { objective: 'accuracy', maxAccuracyLoss: 0.005, latencyBudgetMs: 100 });
    expect(d.kind === 'offload' && d.bits).toBe(8);
    expect(decide(model, unsure, costs, link, device, { objective: 'accuracy', maxAccuracyLoss: 0.005, latencyBudgetMs: 100 }).kind).toBe('local');
  });

  it('finishes locally when the link is down, and honours forced policies', () => {
    expect(decide(model, unsure, costs, { ...link, available: false }, device, { objective: 'latency', maxAccuracyLoss: 0.005 }).kind).toBe('local');
    // A forced offload stays an offload: the caller turns the missing link into a fallback.
    expect(decide(model, unsure, costs, { ...link, available: false }, device, { objective: 'latency', maxAccuracyLoss: 0.005, force: 'always-offload' }).kind).toBe('offload');
    const sure = [{ label: 1, confidence: 0.99 }];
    expect(decide(model, sure, costs, link, device, { objective: 'latency', maxAccuracyLoss: 0.005, force: 'always-offload' }).kind).toBe('offload');
    expect(decide(model, sure, costs, link, device, { objective: 'latency', maxAccuracyLoss: 0.005, force: 'always-local' }).kind).toBe('local');
    expect(decide(model, sure, costs, link, device, { objective: 'latency', maxAccuracyLoss: 0.005, force: 'exit-then-offload' }).kind).toBe('exit');
    const d = decide(model, unsure, { ...costs, localMs: 1 }, link, device, { objective: 'latency', maxAccuracyLoss: 0.005, force: 'exit-then-offload', bits: 8 });
    expect(d.kind === 'offload' && d.bits).toBe(8);
  });
});

describe('fullOffloadFirst (before the head)', () => {
  const lat = { objective: 'latency' as const, maxAccuracyLoss: 0.005 };
  it('skips the head when raw offload beats head + the expected rest, by hand', () => {
    // head path: 10 + (1 − 0.6) · min(local 40, offload 5 + 0.048 + 0.064 + 2) = 10 + 0.4 · 7.112 = 12.84 ms
    // raw: 5 + (848·8)/1e4 + 0.064 + 3 = 8.742 ms → raw first
    const fast: LinkEstimate = { ...link, rttMs: 5 };
    expect(fullOffloadFirst(model, costs, { headMs: 10, rawRequestBytes: 848, fullServerMs: 3 }, fast, device, lat)).toBe(true);
    // a cheap head (1 ms): 1 + 0.4 · 7.112 = 3.84 ms < 8.742 → run the head
    expect(fullOffloadFirst(model, costs, { headMs: 1, rawRequestBytes: 848, fullServerMs: 3 }, fast, device, lat)).toBe(false);
  });
  it('never when forced, for the accuracy objective, with a fixed bit width or no edge', () => {
    const full = { headMs: 100, rawRequestBytes: 848, fullServerMs: 1 };
    expect(fullOffloadFirst(model, costs, full, link, device, { ...lat, force: 'exit-then-offload' })).toBe(false);
    expect(fullOffloadFirst(model, costs, full, link, device, { ...lat, objective: 'accuracy' })).toBe(false);
    expect(fullOffloadFirst(model, costs, full, link, device, { ...lat, bits: 2 })).toBe(false);
    expect(fullOffloadFirst(model, costs, full, { ...link, available: false }, device, lat)).toBe(false);
    expect(fullOffloadFirst(model, costs, full, link, device, lat)).toBe(true);
  });
});
