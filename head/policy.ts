/**
 * The device's decision (pure): after the head has run, take the first confident exit; otherwise
 * offload the bottleneck (at which bit width) or finish locally, whichever the objective prefers,
 * by expected latency and energy from measured compute times, the link estimate and the device
 * profile. Nothing here does I/O or reads a clock: every input is an argument.
 */
import type { Manifest } from '../protocol/manifest.js';

/** What the device knows about its link (EWMA of recent requests and pings). */
export interface LinkEstimate {
  /** false while disconnected or refused: offloading is not an option. */
  available: boolean;
  rttMs: number;
  /** Bits per second. */
  uplinkBps: number;
  downlinkBps: number;
}

/** The radio's power model P = α·throughput + β (Huang et al., MobiSys 2012), plus tail energy. */
export interface RadioModel {
  name: string;
  alphaUpMwPerMbps: number;
  betaMw: number;
  /** Energy the radio spends staying up after a transfer (LTE tail), J; 0 if not modelled. */
  tailJ: number;
}

/** A device: its compute power draw and its radio. */
export interface DeviceProfile {
  name: string;
  computePowerW: number;
  radio: RadioModel;
  /**
   * How much slower this device computes than the machine it runs on (1: as measured). Measured
   * compute times are multiplied by it in the policy's costs and the energy estimate: a modelled
   * device.
   */
  computeSlowdown?: number;
}

export type Objective = 'latency' | 'energy' | 'accuracy';
/**
 * Baselines: 'always-local' runs the whole local model (no head), 'full-offload' sends the raw
 * input to the edge's full model (no head), 'always-offload' sends every bottleneck (no exits),
 * 'exit-then-offload' exits when confident and offloads the rest.
 */
export type ForcedPolicy = 'always-offload' | 'always-local' | 'exit-then-offload' | 'full-offload';

export interface PolicyOptions {
  objective: Objective;
  /** Largest accuracy loss (fraction, e.g. 0.005) the exits may cost against the split model. */
  maxAccuracyLoss: number;
  /** For objective 'accuracy': the latency the answer must fit in, ms. */
  latencyBudgetMs?: number;
  force?: ForcedPolicy;
  /** Bit width to offload at; default: chosen per request among the bundle's widths. */
  bits?: number;
}

/** Measured costs the decision weighs (ms, bytes). */
export interface CostInputs {
  /** Finishing on the device after the head (the rest of the local model). */
  localMs: number;
  /** Expected server time (queue + decode + compute). */
  serverMs: number;
  /** Request frame bytes per bit width. */
  requestBytes: Record<number, number>;
  responseBytes: number;
}

/** One option's expected cost. */
export interface OptionCost {
  latencyMs: number;
  energyJ: number;
  accuracy: number;
}

export type Decision =
  | { kind: 'exit'; exit: number; label: number; confidence: number }
  | { kind: 'offload'; bits: number; expected: OptionCost }
  | { kind: 'local'; expected: OptionCost };

/**
 * The threshold for `maxAccuracyLoss`: the lowest calibrated threshold whose overall accuracy
 * stays within the loss of the split model (the table's last threshold if none does).
 */
export function thresholdFor(exit: Manifest['exits'][number], splitAccuracy: number, maxAccuracyLoss: number): number {
  const ok = exit.thresholds.filter((r) => r.overallAccuracy >= splitAccuracy - maxAccuracyLoss - 1e-12);
  return ok.length ? Math.min(...ok.map((r) => r.threshold)) : exit.thresholds[exit.thresholds.length - 1]!.threshold;
}

/** The radio's power while busy at `uplinkMbps`, W: P = α·throughput + β. */
export function radioPowerW(radio: RadioModel, uplinkMbps: number): number {
  return (radio.alphaUpMwPerMbps * uplinkMbps + radio.betaMw) / 1000;
}

/**
 * Energy of a radio busy for `activeS` seconds while sending `upBytes`, J. Integrating
 * P = α·throughput + β over the busy time gives α·(megabits sent) + β·(busy time): the α term is
 * paid for the bits, not for the link's capacity, so the idle part of a round trip costs β only.
 */
export function radioActiveEnergyJ(radio: RadioModel, upBytes: number, activeS: number): number {
  return (radio.alphaUpMwPerMbps * ((upBytes * 8) / 1e6) + radio.betaMw * activeS) / 1000 + radio.tailJ;
}

/** Expected energy of sending `upBytes` up and `downBytes` down over `link` with `radio` (busy for the transfers and one RTT), J. */
export function radioEnergyJ(radio: RadioModel, link: LinkEstimate, upBytes: number, downBytes: number): number {
  const activeS = (upBytes * 8) / link.uplinkBps + (downBytes * 8) / link.downlinkBps + link.rttMs / 1000;
  return radioActiveEnergyJ(radio, upBytes, activeS);
}

/** Expected latency and energy of offloading at `bits`. */
export function offloadCost(bits: number, costs: CostInputs, link: LinkEstimate, device: DeviceProfile, accuracy: number): OptionCost {
  const up = costs.requestBytes[bits]!;
  const latencyMs = link.rttMs + (up * 8 * 1000) / link.uplinkBps + (costs.responseBytes * 8 * 1000) / link.downlinkBps + costs.serverMs;
  // The radio stays up from the request until the answer, server time included (what the bench measures).
  return { latencyMs, energyJ: radioActiveEnergyJ(device.radio, up, latencyMs / 1000), accuracy };
}

/** Expected latency and energy of finishing locally. */
export function localCost(costs: CostInputs, device: DeviceProfile, accuracy: number): OptionCost {
  return { latencyMs: costs.localMs, energyJ: (device.computePowerW * costs.localMs) / 1000, accuracy };
}

function better(objective: Objective, a: OptionCost, b: OptionCost, budgetMs: number): boolean {
  if (objective === 'latency') return a.latencyMs < b.latencyMs || (a.latencyMs === b.latencyMs && a.energyJ < b.energyJ);
  if (objective === 'energy') return a.energyJ < b.energyJ || (a.energyJ === b.energyJ && a.latencyMs < b.latencyMs);
  // accuracy under a latency budget: options inside the budget first, then the most accurate, then the fastest.
  const ina = a.latencyMs <= budgetMs;
  const inb = b.latencyMs <= budgetMs;
  if (ina !== inb) return ina;
  if (!ina) return a.latencyMs < b.latencyMs;
  return a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.latencyMs < b.latencyMs);
}

/** Everything {@link decide} needs about the bundle, precomputed once per device. */
export interface PolicyModel {
  /** Exit thresholds in exit order (Infinity: never exit). */
  thresholds: number[];
  /** Bit widths the bundle serves and the split model's accuracy at each. */
  bits: number[];
  splitAccuracy: Record<number, number>;
  /** Accuracy of finishing locally (the full model). */
  localAccuracy: number;
  /** Share of inputs expected to leave by some exit at these thresholds (validation calibration). */
  exitRate: number;
}

/** Precomputes the policy's view of a bundle for `maxAccuracyLoss`. */
export function policyModel(m: Manifest, maxAccuracyLoss: number): PolicyModel {
  const bits = [...m.bottleneck.bits].sort((a, b) => a - b);
  const splitAccuracy: Record<number, number> = {};
  for (const b of bits) splitAccuracy[b] = m.bottleneck.accuracy?.[String(b)] ?? 0;
  const best = Math.max(...bits.map((b) => splitAccuracy[b]!));
  const thresholds = m.exits.map((e) => thresholdFor(e, best, maxAccuracyLoss));
  // The first exit's calibrated rate (later exits only add to it: a lower bound).
  const exitRate = m.exits[0]?.thresholds.find((r) => r.threshold === thresholds[0])?.exitRate ?? 0;
  return {
    thresholds,
    exitRate,
    bits,
    splitAccuracy,
    localAccuracy: m.accuracy?.teacher ?? best,
  };
}

/**
 * Decides for one input. `exits` holds each exit's (label, confidence) in order, as computed from
 * the head's outputs.
 */
export function decide(model: PolicyModel, exits: readonly { label: number; confidence: number }[], costs: CostInputs, link: LinkEstimate, device: DeviceProfile, opts: PolicyOptions): Decision {
  if (opts.force !== 'always-offload' && opts.force !== 'always-local') {
    for (let i = 0; i < exits.length; i++) {
      if (exits[i]!.confidence >= model.thresholds[i]!) return { kind: 'exit', exit: i, label: exits[i]!.label, confidence: exits[i]!.confidence };
    }
  }
  const local: Decision = { kind: 'local', expected: localCost(costs, device, model.localAccuracy) };
  const offloadForced = opts.force === 'always-offload' || opts.force === 'exit-then-offload';
  if (opts.force === 'always-local' || (!link.available && !offloadForced)) return local;
  const widths = opts.bits !== undefined ? [opts.bits] : model.bits;
  let best: Extract<Decision, { kind: 'offload' }> | undefined;
  for (const bits of widths) {
    if (costs.requestBytes[bits] === undefined) continue;
    const c = offloadCost(bits, costs, link, device, model.splitAccuracy[bits] ?? 0);
    if (!best || better(opts.objective, c, best.expected, opts.latencyBudgetMs ?? Infinity)) best = { kind: 'offload', bits, expected: c };
  }
  if (!best) return local;
  if (offloadForced) return best;
  return better(opts.objective, local.expected, best.expected, opts.latencyBudgetMs ?? Infinity) ? local : best;
}

/** What sending the raw input to the edge's full model costs, for {@link fullOffloadFirst}. */
export interface FullOffloadInputs {
  /** The head's compute time on this device, ms. */
  headMs: number;
  /** Request frame bytes for the raw input. */
  rawRequestBytes: number;
  /** Expected server time for the full model, ms. */
  fullServerMs: number;
}

/**
 * Before running the head: is sending the raw input to the edge's full model expected to beat
 * running the head and deciding after it (exit with the calibrated probability, else the better
 * of offloading the bottleneck and finishing locally)? Only for the latency and energy objectives
 * and a reachable edge; the head path stays the default otherwise.
 */
export function fullOffloadFirst(model: PolicyModel, costs: CostInputs, full: FullOffloadInputs, link: LinkEstimate, device: DeviceProfile, opts: PolicyOptions): boolean {
  if (opts.force !== undefined || opts.objective === 'accuracy' || !link.available || opts.bits !== undefined) return false;
  const after = decide(model, [], costs, link, device, { ...opts, force: undefined });
  if (after.kind === 'exit') return false;
  const p = model.exitRate;
  const head: OptionCost = {
    latencyMs: full.headMs + (1 - p) * after.expected.latencyMs,
    energyJ: (device.computePowerW * full.headMs) / 1000 + (1 - p) * after.expected.energyJ,
    accuracy: after.expected.accuracy,
  };
  const raw = offloadCost(0, { ...costs, serverMs: full.fullServerMs, requestBytes: { 0: full.rawRequestBytes } }, link, device, model.localAccuracy);
  return better(opts.objective, raw, head, Infinity);
}

/** Radio models from Huang et al., MobiSys 2012 (uplink α, β), as the benchmark issue cites them. */
export const RADIOS: Readonly<Record<'lte' | '3g' | 'wifi', RadioModel>> = Object.freeze({
  lte: { name: 'LTE (Huang et al., MobiSys 2012)', alphaUpMwPerMbps: 438.39, betaMw: 1288.04, tailJ: 0 },
  '3g': { name: '3G (Huang et al., MobiSys 2012)', alphaUpMwPerMbps: 868.98, betaMw: 817.88, tailJ: 0 },
  wifi: { name: 'WiFi (Huang et al., MobiSys 2012)', alphaUpMwPerMbps: 283.17, betaMw: 132.86, tailJ: 0 },
});
