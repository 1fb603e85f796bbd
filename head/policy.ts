/**
 * The device's decision (pure): after the head has run, take the first confident exit;
 * otherwise offload the bottleneck (at which rate point) or finish locally, whichever the
 * objective prefers, by expected latency and energy from measured (or modelled) compute times,
 * measured round trips, the link estimate and the device profile. Before the head, it may pick
 * full offload instead. Nothing here does I/O or reads a clock: every input is an argument.
 */
import { power, type DeviceProfile } from './devices.js';
import { inferenceEnergy } from './energy.js';

/** What the device knows about its link (EWMA of recent requests and pings). */
export interface LinkEstimate {
  /** false while disconnected or refused: offloading is not an option. */
  available: boolean;
  rttMs: number;
  /** Bits per second. */
  uplinkBps: number;
  downlinkBps: number;
}

export type Objective = 'latency' | 'energy' | 'accuracy';
/**
 * Baselines: 'always-local' runs the whole local model (no head), 'full-offload' sends the raw
 * input to the edge's full model (no head), 'always-offload' sends every bottleneck (no exits),
 * 'exit-then-offload' exits when confident and offloads the rest.
 */
export type ForcedPolicy = 'always-offload' | 'always-local' | 'exit-then-offload' | 'full-offload';
export const OBJECTIVES: readonly Objective[] = ['latency', 'energy', 'accuracy'];
export const FORCED_POLICIES: readonly ForcedPolicy[] = ['always-offload', 'always-local', 'exit-then-offload', 'full-offload'];

export interface PolicyOptions {
  objective: Objective;
  /** Largest accuracy loss (fraction, e.g. 0.005) the exits may cost against the split model. */
  maxAccuracyLoss: number;
  /** For objective 'accuracy': the latency the answer must fit in, ms. */
  latencyBudgetMs?: number;
  force?: ForcedPolicy;
  /** Rate point (manifest index) to offload at; default: chosen per request among the bundle's. */
  ratePoint?: number;
  /** A fixed confidence threshold for every exit, in (0, 1]; default: each exit's calibrated one for maxAccuracyLoss. */
  exitThreshold?: number;
}

/** One way of sending: expected wire bytes each way, server time, and the measured round trip when known. */
export interface SendCost {
  bytesUp: number;
  bytesDown: number;
  serverMs: number;
  /** Measured request-to-answer time (EWMA), ms; absent: estimated from the link. */
  busyMs?: number;
}

/** Measured costs the decision weighs (ms, bytes). */
export interface CostInputs {
  /** The head (with its exits) on this device. */
  headMs: number;
  /** The whole local model on this device. */
  localMs: number;
  /** Per rate point index the device offers. */
  split: Map<number, SendCost>;
  /** Full offload of the raw input. */
  full: SendCost;
  /** Since the radio's last transfer, ms (past its tail timer, the next transfer pays a promotion). */
  sinceTransferMs: number;
}

/** One option's expected cost. */
export interface OptionCost {
  latencyMs: number;
  energyJ: number;
  accuracy: number;
}

export type Decision =
  | { kind: 'exit'; exit: number; label: number; confidence: number }
  | { kind: 'offload'; ratePoint: number; expected: OptionCost }
  | { kind: 'local'; expected: OptionCost };

/** Everything {@link decide} needs about the bundle, precomputed once per device. */
export interface PolicyModel {
  /** Exit thresholds in exit order (Infinity: never exit). */
  thresholds: number[];
  /** Split accuracy per rate point index (validation split). */
  splitAccuracy: Map<number, number>;
  /** Accuracy of finishing locally (the full model). */
  localAccuracy: number;
  /** Share of inputs expected to leave by some exit at these thresholds (validation calibration). */
  exitRate: number;
  /** Accuracy of the inputs that leave there (validation calibration; absent: unknown, taken as the split's). */
  exitAccuracy?: number;
}

/** The threshold table rows of one exit. */
export interface ExitCalibration {
  thresholds: { threshold: number; exitRate: number; exitAccuracy?: number; overallAccuracy: number }[];
}

/**
 * The threshold for `maxAccuracyLoss`: the lowest calibrated threshold whose overall accuracy
 * stays within the loss of the split model (the table's last threshold if none does).
 */
export function thresholdFor(exit: ExitCalibration, splitAccuracy: number, maxAccuracyLoss: number): number {
  const ok = exit.thresholds.filter((r) => r.overallAccuracy >= splitAccuracy - maxAccuracyLoss - 1e-12);
  return ok.length ? Math.min(...ok.map((r) => r.threshold)) : exit.thresholds[exit.thresholds.length - 1]!.threshold;
}

/**
 * The policy's view of a bundle for `maxAccuracyLoss`, measured against `reference` (the split
 * accuracy exits are calibrated against). With `exitThreshold`, every exit uses it instead; the
 * expected exit rate is then the calibrated row's at or above it (0 past the table).
 */
export function policyModel(
  exits: readonly ExitCalibration[],
  splitAccuracy: Map<number, number>,
  localAccuracy: number,
  reference: number,
  maxAccuracyLoss: number,
  exitThreshold?: number,
): PolicyModel {
  const thresholds = exits.map((e) => exitThreshold ?? thresholdFor(e, reference, maxAccuracyLoss));
  // The first exit's calibrated rate (later exits only add to it: a lower bound).
  const row = exits[0]?.thresholds.find((r) => r.threshold >= thresholds[0]! - 1e-12);
  const exitRate = row?.exitRate ?? 0;
  return { thresholds, exitRate, splitAccuracy, localAccuracy, ...(row?.exitAccuracy !== undefined ? { exitAccuracy: row.exitAccuracy } : {}) };
}

/** What {@link bundlePolicyModel} reads of a manifest. */
export interface PolicyManifest {
  exits: readonly ExitCalibration[];
  bottleneck: { defaultRatePoint: number; ratePoints: readonly { accuracy?: number }[] };
  accuracy?: { teacher: number };
}

/**
 * The policy's view of a bundle, as createDevice builds it: split accuracy per rate point from
 * the manifest, and exits measured against the default rate point's split accuracy (the exporter
 * calibrates every exit's table with the split model at that point, so the manifest's
 * recommendedThreshold is the one for maxAccuracyLoss 0.005).
 */
export function bundlePolicyModel(m: PolicyManifest, policy: Pick<PolicyOptions, 'maxAccuracyLoss' | 'exitThreshold'>): PolicyModel & { reference: number } {
  const splitAccuracy = new Map<number, number>();
  m.bottleneck.ratePoints.forEach((rp, i) => splitAccuracy.set(i, rp.accuracy ?? 0));
  const reference = splitAccuracy.get(m.bottleneck.defaultRatePoint) ?? 0;
  return { ...policyModel(m.exits, splitAccuracy, m.accuracy?.teacher ?? reference, reference, policy.maxAccuracyLoss, policy.exitThreshold), reference };
}

/** Expected request-to-answer time of a send, ms: the measured one, or rtt + transfers + server. */
export function expectedBusyMs(c: SendCost, link: LinkEstimate): number {
  return c.busyMs ?? link.rttMs + (c.bytesUp * 8 * 1000) / link.uplinkBps + (c.bytesDown * 8 * 1000) / link.downlinkBps + c.serverMs;
}

/**
 * Expected latency and energy of one send: the radio's energy for the transfer (and the tail it
 * then idles in, and a promotion if it was idle), plus the device idling while it waits.
 * `elapsedMs`: the inference's time before the send (the head), for where the radio's tail ends.
 */
export function sendCost(c: SendCost, link: LinkEstimate, device: DeviceProfile, sinceTransferMs: number, accuracy: number, elapsedMs = 0): OptionCost {
  const busyMs = expectedBusyMs(c, link);
  const e = inferenceEnergy(power(device), {
    computeMs: 0,
    totalMs: elapsedMs + busyMs,
    transfer: { upBytes: c.bytesUp, downBytes: c.bytesDown, busyMs, promoted: sinceTransferMs > device.radio.tailMs },
  });
  return { latencyMs: busyMs, energyJ: e.totalJ, accuracy };
}

/** Expected latency and energy of finishing with the local model. */
export function localCost(costs: CostInputs, device: DeviceProfile, accuracy: number): OptionCost {
  return { latencyMs: costs.localMs, energyJ: inferenceEnergy(power(device), { computeMs: costs.localMs, totalMs: costs.localMs }).totalJ, accuracy };
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

/**
 * The idle time a send is charged for, ms: a promotion is paid only when the radio would idle past
 * its tail between transfers in steady state. A device whose offloads (a share `offloadShare` of
 * its inferences, one every `periodMs` or back to back, each at least the head long) come closer
 * together than the radio's tail keeps the radio up: charging the first offload the promotion
 * that a run of offloads shares would keep the policy on local answers forever once the radio has
 * gone idle (measured: a low-end phone on WiFi finished every non-exit locally at 11.2 mJ where a
 * split costs 8.9 mJ). Otherwise the radio's real idle time since its last transfer.
 */
export function steadySinceTransferMs(costs: CostInputs, device: DeviceProfile, offloadShare: number): number {
  const intervalMs = Math.max(device.periodMs, costs.headMs) / Math.max(offloadShare, 1e-9);
  return intervalMs <= device.radio.tailMs ? 0 : costs.sinceTransferMs;
}

/**
 * Decides for one input after the head ran. `exits` holds each exit's (label, confidence) in
 * order, as computed from the head's outputs.
 */
export function decide(
  model: PolicyModel,
  exits: readonly { label: number; confidence: number }[],
  costs: CostInputs,
  link: LinkEstimate,
  device: DeviceProfile,
  opts: PolicyOptions,
): Decision {
  if (opts.force !== 'always-offload' && opts.force !== 'always-local') {
    for (let i = 0; i < exits.length; i++) {
      if (exits[i]!.confidence >= model.thresholds[i]!) return { kind: 'exit', exit: i, label: exits[i]!.label, confidence: exits[i]!.confidence };
    }
  }
  const local: Decision = { kind: 'local', expected: localCost(costs, device, model.localAccuracy) };
  const offloadForced = opts.force === 'always-offload' || opts.force === 'exit-then-offload';
  if (opts.force === 'always-local' || (!link.available && !offloadForced)) return local;
  let best: Extract<Decision, { kind: 'offload' }> | undefined;
  for (const [ratePoint, c] of costs.split) {
    if (opts.ratePoint !== undefined && ratePoint !== opts.ratePoint) continue;
    const cost = sendCost(c, link, device, steadySinceTransferMs(costs, device, 1 - model.exitRate), model.splitAccuracy.get(ratePoint) ?? 0, costs.headMs);
    if (!best || better(opts.objective, cost, best.expected, opts.latencyBudgetMs ?? Infinity)) best = { kind: 'offload', ratePoint, expected: cost };
  }
  if (!best) return local;
  if (offloadForced) return best;
  return better(opts.objective, local.expected, best.expected, opts.latencyBudgetMs ?? Infinity) ? local : best;
}

/**
 * Before running the head: is sending the raw input to the edge's full model expected to beat
 * running the head and deciding after it (exit with the calibrated probability, else the better
 * of offloading the bottleneck and finishing locally)? For the accuracy objective the head path's
 * accuracy blends the exits' (calibrated) with what follows them, so the full model on the edge
 * wins when it fits the latency budget and is more accurate. Never when forced, at a fixed rate
 * point or without a reachable edge.
 */
export function fullOffloadFirst(model: PolicyModel, costs: CostInputs, link: LinkEstimate, device: DeviceProfile, opts: PolicyOptions): boolean {
  if (opts.force !== undefined || !link.available || opts.ratePoint !== undefined) return false;
  const after = decide(model, [], costs, link, device, { ...opts, force: undefined });
  if (after.kind === 'exit') return false;
  const p = model.exitRate;
  const head: OptionCost = {
    latencyMs: costs.headMs + (1 - p) * after.expected.latencyMs,
    energyJ: inferenceEnergy(power(device), { computeMs: costs.headMs, totalMs: costs.headMs }).totalJ + (1 - p) * after.expected.energyJ,
    accuracy: p * (model.exitAccuracy ?? after.expected.accuracy) + (1 - p) * after.expected.accuracy,
  };
  const raw = sendCost(costs.full, link, device, steadySinceTransferMs(costs, device, 1), model.localAccuracy);
  return better(opts.objective, raw, head, opts.latencyBudgetMs ?? Infinity);
}
