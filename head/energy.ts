/**
 * The energy model (pure), one piece of code for the device's policy, the device's reported
 * energy and the benchmark's figures: compute energy = active power × compute time; radio energy
 * for one transfer = Huang et al.'s power model integrated over the transfer (α per megabit each
 * way + β per second busy), plus the tail the radio then idles in (until its next transfer or its
 * tail timer), plus a promotion when the radio was idle past its tail before. Sources of every
 * coefficient: docs/bench/DEVICES.md.
 */

/** A radio's power model (Huang et al., MobiSys 2012, and the sources in DEVICES.md). */
export interface RadioModel {
  id: string;
  name: string;
  alphaUpMwPerMbps: number;
  alphaDownMwPerMbps: number;
  betaMw: number;
  /** Waking the radio from idle: power and time. */
  promotionMw: number;
  promotionMs: number;
  /** After a transfer the radio stays up this long at this power, unless another transfer starts. */
  tailMw: number;
  tailMs: number;
  source: string;
}

/** One transfer's inputs to {@link transferEnergyJ}. */
export interface Transfer {
  upBytes: number;
  downBytes: number;
  /** From the first byte sent to the last byte of the answer, ms (server time included: the radio waits). */
  busyMs: number;
  /** How long the radio then idles before its next transfer, ms (the tail it pays is capped at its tail timer). */
  idleAfterMs: number;
  /** The radio was idle past its tail before this transfer: it pays a promotion. */
  promoted: boolean;
}

/** Energy of one transfer, J. */
export function transferEnergyJ(r: RadioModel, t: Transfer): number {
  const mj =
    r.alphaUpMwPerMbps * ((t.upBytes * 8) / 1e6) +
    r.alphaDownMwPerMbps * ((t.downBytes * 8) / 1e6) +
    (r.betaMw * t.busyMs) / 1000 +
    (r.tailMw * Math.min(r.tailMs, Math.max(0, t.idleAfterMs))) / 1000 +
    (t.promoted ? (r.promotionMw * r.promotionMs) / 1000 : 0);
  return mj / 1000;
}

/** Energy of computing for `ms` at `watts`, J. */
export function computeEnergyJ(watts: number, ms: number): number {
  return (watts * ms) / 1000;
}

/**
 * The idle time after a request that the radio's tail covers, for a device that starts one
 * inference every `periodMs` (0: back to back, the next starts at once).
 */
export function idleAfter(periodMs: number, latencyMs: number): number {
  return Math.max(0, periodMs - latencyMs);
}

/** What one inference did, for {@link inferenceEnergy}. */
export interface InferenceWork {
  /** Compute on the device (head, encoding, local model), ms on the modelled device. */
  computeMs: number;
  /** The transfer to the edge, when there was one (busy = request sent to answer or failure). */
  transfer?: { upBytes: number; downBytes: number; busyMs: number; promoted: boolean };
  /** The inference's whole latency, ms (the radio's tail runs from its end to the next inference). */
  totalMs: number;
}

/** The power side of a device profile. */
export interface PowerProfile {
  activeW: number;
  idleW: number;
  radio: RadioModel;
  /** One inference every this many ms (0: back to back). */
  periodMs: number;
}

/**
 * Energy of one inference, J: compute at active power, waiting for the edge at idle power, and
 * the radio's transfer with its tail and promotion. The device reports it, the policy predicts
 * it (with expected values in place of measured ones), the benchmark re-models samples with it.
 */
export function inferenceEnergy(p: PowerProfile, w: InferenceWork): { computeJ: number; radioJ: number; totalJ: number } {
  const t = w.transfer;
  const computeJ = computeEnergyJ(p.activeW, w.computeMs) + (t ? computeEnergyJ(p.idleW, t.busyMs) : 0);
  const radioJ = t
    ? transferEnergyJ(p.radio, {
        upBytes: t.upBytes,
        downBytes: t.downBytes,
        busyMs: t.busyMs,
        idleAfterMs: idleAfter(p.periodMs, w.totalMs),
        promoted: t.promoted,
      })
    : 0;
  return { computeJ, radioJ, totalJ: computeJ + radioJ };
}
