import { beforeAll, describe, expect, it } from 'vitest';
import type { DeviceProfile } from '../../head/devices.js';
import type { RadioModel } from '../../head/energy.js';
import {
  decide,
  expectedBusyMs,
  fullOffloadFirst,
  localCost,
  policyModel,
  sendCost,
  thresholdFor,
  type CostInputs,
  type LinkEstimate,
  type OptionCost,
  type PolicyModel,
  type PolicyOptions,
  type SendCost,
} from '../../head/policy.js';
import type { Manifest } from '../../protocol/manifest.js';
import { loadManifest } from './helpers.js';

// Round numbers, so every expected figure below can be checked by hand.
const radio: RadioModel = {
  id: 'test',
  name: 'test radio',
  alphaUpMwPerMbps: 1000,
  alphaDownMwPerMbps: 100,
  betaMw: 1000,
  promotionMw: 500,
  promotionMs: 100,
  tailMw: 200,
  tailMs: 1000,
  source: 'round numbers',
};
const device: DeviceProfile = {
  name: 'test',
  device: { id: 'test', name: 'test device', activeW: 2, idleW: 0.5, links: [], source: 'round numbers' },
  radio,
  periodMs: 0,
};
const link: LinkEstimate = { available: true, rttMs: 20, uplinkBps: 1e6, downlinkBps: 1e6 };
const model: PolicyModel = {
  thresholds: [0.9],
  splitAccuracy: new Map([
    [0, 0.9],
    [1, 0.93],
  ]),
  localAccuracy: 0.95,
  exitRate: 0.5,
};

// Rate point 0: 125 B up (1 ms at 1 Mbit/s), 25 B down (0.2 ms), 1 ms server: 20 + 1 + 0.2 + 1 = 22.2 ms.
// Rate point 1: 500 B up (4 ms): 25.2 ms. Full offload: 1000 B up (8 ms), 2 ms server: 30.2 ms.
const rp0: SendCost = { bytesUp: 125, bytesDown: 25, serverMs: 1 };
const rp1: SendCost = { bytesUp: 500, bytesDown: 25, serverMs: 1 };
const full: SendCost = { bytesUp: 1000, bytesDown: 25, serverMs: 2 };
function costs(localMs: number, over: Partial<CostInputs> = {}): CostInputs {
  return {
    headMs: 10,
    localMs,
    split: new Map([
      [0, rp0],
      [1, rp1],
    ]),
    full,
    sinceTransferMs: 0,
    ...over,
  };
}
const latency: PolicyOptions = { objective: 'latency', maxAccuracyLoss: 0.005 };
const energy: PolicyOptions = { objective: 'energy', maxAccuracyLoss: 0.005 };
const unsure = [{ label: 3, confidence: 0.5 }];
const sure = [{ label: 1, confidence: 0.95 }];

// Radio at rate point 0: 1000 mW/Mbit · 0.001 Mbit + 100 mW/Mbit · 0.0002 Mbit + 1000 mW · 0.0222 s
// = 23.22 mJ; waiting 22.2 ms at 0.5 W: 11.1 mJ. 34.32 mJ in all. Rate point 1: 29.22 + 12.6 mJ.
const RP0: OptionCost = { latencyMs: 22.2, energyJ: 0.03432, accuracy: 0.9 };
const RP1: OptionCost = { latencyMs: 25.2, energyJ: 0.04182, accuracy: 0.93 };

function expectCost(got: OptionCost | undefined, want: OptionCost): void {
  expect(got).toBeDefined();
  expect(got!.latencyMs).toBeCloseTo(want.latencyMs, 10);
  expect(got!.energyJ).toBeCloseTo(want.energyJ, 12);
  expect(got!.accuracy).toBe(want.accuracy);
}
const chosen = (d: ReturnType<typeof decide>): string => (d.kind === 'offload' ? `offload:${d.ratePoint}` : d.kind === 'exit' ? `exit:${d.exit}` : 'local');

describe('expectedBusyMs / sendCost / localCost', () => {
  it('estimates a send as RTT + transfers + server time, or takes the measured busy time', () => {
    expect(expectedBusyMs(rp0, link)).toBeCloseTo(22.2, 10);
    expect(expectedBusyMs(full, link)).toBeCloseTo(30.2, 10);
    expect(expectedBusyMs({ ...rp0, busyMs: 5 }, link)).toBe(5);
  });

  it('prices a send: radio (α per megabit, β busy, tail, promotion) + waiting at idle power', () => {
    expectCost(sendCost(rp0, link, device, 0, 0.9), RP0);
    expectCost(sendCost(rp1, link, device, 0, 0.93), RP1);
    // Measured busy time 5 ms: 1 + 0.02 + 5 mJ radio, 2.5 mJ waiting.
    expectCost(sendCost({ ...rp0, busyMs: 5 }, link, device, 0, 0.9), { latencyMs: 5, energyJ: 0.00852, accuracy: 0.9 });
    // Idle past the 1000 ms tail before: a promotion, 500 mW for 100 ms = 50 mJ (at exactly 1000 ms, none).
    expectCost(sendCost(rp0, link, device, 1001, 0.9), { ...RP0, energyJ: 0.08432 });
    expectCost(sendCost(rp0, link, device, 1000, 0.9), RP0);
    // One inference every 100 ms: the radio idles 77.8 ms in its tail after the answer, 200 mW: 15.56 mJ.
    expectCost(sendCost(rp0, link, { ...device, periodMs: 100 }, 0, 0.9), { ...RP0, energyJ: 0.04988 });
  });

  it('prices finishing locally at active power', () => {
    expect(localCost(costs(30), device, 0.95)).toEqual({ latencyMs: 30, energyJ: 0.06, accuracy: 0.95 });
  });
});

describe('decide: exits', () => {
  it('takes the first exit that reaches its threshold', () => {
    const two: PolicyModel = { ...model, thresholds: [0.9, 0.8] };
    expect(
      decide(
        two,
        [
          { label: 3, confidence: 0.85 },
          { label: 5, confidence: 0.85 },
        ],
        costs(30),
        link,
        device,
        latency,
      ),
    ).toEqual({ kind: 'exit', exit: 1, label: 5, confidence: 0.85 });
    expect(
      decide(
        two,
        [
          { label: 3, confidence: 0.9 },
          { label: 5, confidence: 0.99 },
        ],
        costs(30),
        link,
        device,
        latency,
      ),
    ).toEqual({ kind: 'exit', exit: 0, label: 3, confidence: 0.9 });
    expect(
      chosen(
        decide(
          two,
          [
            { label: 3, confidence: 0.89 },
            { label: 5, confidence: 0.79 },
          ],
          costs(30),
          link,
          device,
          latency,
        ),
      ),
    ).toBe('offload:0');
  });
});

describe('decide: objectives', () => {
  it('latency: the faster of the best send and the local model', () => {
    const d = decide(model, unsure, costs(30), link, device, latency);
    expect(chosen(d)).toBe('offload:0');
    expectCost(d.kind === 'offload' ? d.expected : undefined, RP0);
    const l = decide(model, unsure, costs(15), link, device, latency);
    expect(l).toEqual({ kind: 'local', expected: { latencyMs: 15, energyJ: 0.03, accuracy: 0.95 } });
  });

  it('energy: 18 ms of local compute (36 mJ) loses to a 34.32 mJ send, 17 ms (34 mJ) wins, though both are faster', () => {
    expect(chosen(decide(model, unsure, costs(18), link, device, latency))).toBe('local');
    expect(chosen(decide(model, unsure, costs(18), link, device, energy))).toBe('offload:0');
    expect(chosen(decide(model, unsure, costs(17), link, device, energy))).toBe('local');
  });

  it('energy: a promotion (radio idle past its tail, offloads too sparse to keep it up) or the tail itself tips it to local', () => {
    // Offloading half the inferences, back to back (each ≥ the 10 ms head), sends every 20 ms: the
    // radio stays up, so the promotion a run of offloads shares is not charged to this one.
    expect(chosen(decide(model, unsure, costs(18, { sinceTransferMs: 1001 }), link, device, energy))).toBe('offload:0');
    // Exiting 99.5%, an offload every 10 / 0.005 = 2,000 ms, past the 1,000 ms tail: each one pays the 50 mJ promotion.
    expect(chosen(decide({ ...model, exitRate: 0.995 }, unsure, costs(18, { sinceTransferMs: 1001 }), link, device, energy))).toBe('local');
    expect(chosen(decide({ ...model, exitRate: 0.995 }, unsure, costs(18, { sinceTransferMs: 999 }), link, device, energy))).toBe('offload:0');
    expect(chosen(decide(model, unsure, costs(20), link, device, energy))).toBe('offload:0');
    expect(chosen(decide(model, unsure, costs(20), link, { ...device, periodMs: 100 }, energy))).toBe('local');
  });

  it('accuracy: the most accurate option inside the latency budget, else the fastest', () => {
    const acc = (latencyBudgetMs: number): PolicyOptions => ({ objective: 'accuracy', maxAccuracyLoss: 0.005, latencyBudgetMs });
    expect(chosen(decide(model, unsure, costs(30), link, device, acc(26)))).toBe('offload:1'); // local (0.95) is over budget
    expect(chosen(decide(model, unsure, costs(30), link, device, acc(23)))).toBe('offload:0');
    expect(chosen(decide(model, unsure, costs(30), link, device, acc(100)))).toBe('local');
    expect(chosen(decide(model, unsure, costs(30), link, device, acc(10)))).toBe('offload:0'); // nothing fits: the fastest
    expect(chosen(decide(model, unsure, costs(5), link, device, acc(10)))).toBe('local');
  });

  it('equal latency: the lower energy wins, whatever the order of the rate points', () => {
    const split = new Map([
      [1, { ...rp1, busyMs: 10 }],
      [0, { ...rp0, busyMs: 10 }],
    ]);
    expect(chosen(decide(model, unsure, costs(30, { split }), link, device, latency))).toBe('offload:0');
  });
});

describe('decide: availability and forced policies', () => {
  it('finishes locally when the link is down or nothing can be sent', () => {
    expect(chosen(decide(model, unsure, costs(30), { ...link, available: false }, device, latency))).toBe('local');
    expect(chosen(decide(model, unsure, costs(30, { split: new Map() }), link, device, latency))).toBe('local');
  });

  it('always-offload: no exits, and an offload even with the link down (the device turns it into a fallback)', () => {
    const force: PolicyOptions = { ...latency, force: 'always-offload' };
    expect(chosen(decide(model, sure, costs(1), link, device, force))).toBe('offload:0');
    expect(chosen(decide(model, unsure, costs(1), { ...link, available: false }, device, force))).toBe('offload:0');
    expect(chosen(decide(model, unsure, costs(1), link, device, { ...force, objective: 'accuracy' }))).toBe('offload:1');
  });

  it('always-local: no exits, no sends', () => {
    expect(chosen(decide(model, sure, costs(1000), link, device, { ...latency, force: 'always-local' }))).toBe('local');
  });

  it('exit-then-offload: exits when confident, otherwise offloads even when local is faster', () => {
    const force: PolicyOptions = { ...latency, force: 'exit-then-offload' };
    expect(chosen(decide(model, sure, costs(1), link, device, force))).toBe('exit:0');
    expect(chosen(decide(model, unsure, costs(1), link, device, force))).toBe('offload:0');
    expect(chosen(decide(model, unsure, costs(1), link, device, { ...force, ratePoint: 1 }))).toBe('offload:1');
  });

  it('a fixed rate point: only that one is weighed against local', () => {
    expect(chosen(decide(model, unsure, costs(30), link, device, { ...latency, ratePoint: 1 }))).toBe('offload:1');
    expect(chosen(decide(model, unsure, costs(25), link, device, { ...latency, ratePoint: 1 }))).toBe('local');
  });
});

describe('fullOffloadFirst (before the head)', () => {
  it('latency: raw (30.2 ms) against head + (1 − exit rate) × the best after it', () => {
    // head 10 ms: 10 + 0.5 · 22.2 = 21.1 ms → run the head; head 25 ms: 36.1 ms → send the raw input
    expect(fullOffloadFirst(model, costs(30), link, device, latency)).toBe(false);
    expect(fullOffloadFirst(model, costs(30, { headMs: 25 }), link, device, latency)).toBe(true);
    // exits taking 90%: 25 + 0.1 · 22.2 = 27.22 ms → the head
    expect(fullOffloadFirst({ ...model, exitRate: 0.9 }, costs(30, { headMs: 25 }), link, device, latency)).toBe(false);
  });

  it('energy: raw 53.32 mJ (38.22 radio + 15.1 waiting) against 2 W × head + 0.5 × 34.32 mJ', () => {
    expect(fullOffloadFirst(model, costs(30), link, device, energy)).toBe(false); // 20 + 17.16 = 37.16 mJ
    expect(fullOffloadFirst(model, costs(30, { headMs: 25 }), link, device, energy)).toBe(true); // 50 + 17.16 = 67.16 mJ
  });

  it('accuracy: the full model (95%) when it fits the budget, else the head path', () => {
    const accuracy: PolicyOptions = { objective: 'accuracy', maxAccuracyLoss: 0.005 };
    // After the head: local (30 ms, 95%) within no budget; the head path: half exit at 85%, half local at 95% = 90%.
    const exits85 = { ...model, exitAccuracy: 0.85 };
    expect(fullOffloadFirst(exits85, costs(30), link, device, accuracy)).toBe(true);
    // Within a 30.2 ms budget raw (30.2 ms) still fits; with 25 ms only the head path (10 + 0.5 · 22.2 = 21.1 ms) does.
    expect(fullOffloadFirst(exits85, costs(30), link, device, { ...accuracy, latencyBudgetMs: 30.2 })).toBe(true);
    expect(fullOffloadFirst(exits85, costs(30), link, device, { ...accuracy, latencyBudgetMs: 25 })).toBe(false);
    // Exits as accurate as the full model, and no slower after the head: equal accuracy, the faster head path.
    expect(fullOffloadFirst({ ...model, exitAccuracy: 0.95 }, costs(30), link, device, accuracy)).toBe(false);
  });

  it('never when forced, with a fixed rate point or no edge', () => {
    const slowHead = costs(30, { headMs: 1000 });
    expect(fullOffloadFirst(model, slowHead, link, device, latency)).toBe(true);
    for (const force of ['always-offload', 'always-local', 'exit-then-offload', 'full-offload'] as const) {
      expect(fullOffloadFirst(model, slowHead, link, device, { ...latency, force })).toBe(false);
    }
    expect(fullOffloadFirst(model, slowHead, link, device, { ...latency, ratePoint: 0 })).toBe(false);
    expect(fullOffloadFirst(model, slowHead, { ...link, available: false }, device, latency)).toBe(false);
  });
});

describe('thresholdFor / policyModel on the tiny bundle’s calibration', () => {
  let m: Manifest;
  beforeAll(async () => {
    ({ manifest: m } = await loadManifest());
  });

  it('picks the lowest threshold whose overall accuracy stays within the loss, or the last row', () => {
    const exit = m.exits[0]!;
    expect(thresholdFor(exit, 0.765, 0.005)).toBe(0.5); // every row qualifies
    expect(thresholdFor(exit, 0.786, 0.005)).toBe(0.6); // only 0.781 ≥ 0.781
    expect(thresholdFor(exit, 0.792, 0.005)).toBe(0.99); // none: the last row
    expect(thresholdFor(exit, 0.792, 1)).toBe(0.5);
  });

  it('builds the model the device uses: the reference is the best split accuracy', () => {
    const split = new Map(m.bottleneck.ratePoints.map((rp, i) => [i, rp.accuracy!] as const));
    const best = Math.max(...split.values());
    expect(best).toBe(m.bottleneck.ratePoints[1]!.accuracy);
    expect(policyModel(m.exits, split, m.accuracy!.teacher, best, 0.005)).toEqual({
      thresholds: [0.99],
      exitRate: 0.107,
      exitAccuracy: m.exits[0]!.thresholds.find((r) => r.threshold === 0.99)!.exitAccuracy,
      splitAccuracy: split,
      localAccuracy: m.accuracy!.teacher,
    });
    expect(policyModel(m.exits, split, 0.8, best, 1)).toMatchObject({
      thresholds: [0.5],
      exitRate: 0.846,
      exitAccuracy: m.exits[0]!.thresholds[0]!.exitAccuracy,
    });
    expect(policyModel([], split, 0.8, best, 0.005)).toMatchObject({ thresholds: [], exitRate: 0 });
  });
});
