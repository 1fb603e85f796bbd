/**
 * One direction of an emulated link: a token bucket at `bps` (serialisation), one-way `delayMs`
 * plus uniform jitter, loss modelled as a retransmission delay, and outage windows during which
 * nothing is delivered. Delivery keeps order, as TCP does. Pure scheduling: `schedule()` says
 * when a segment arrives; the proxy does the I/O.
 */

export interface DirectionProfile {
  /** Bits per second; Infinity for no limit. */
  bps: number;
  /** One-way propagation delay, ms. */
  delayMs: number;
  /** Extra delay drawn uniformly from [0, jitterMs], ms (order is kept). */
  jitterMs: number;
  /** Probability a segment is lost and retransmitted. */
  loss: number;
  /** Retransmission timeout charged for a lost segment, ms. */
  rtoMs: number;
}

/** Outage windows in ms since the link started: [start, end). */
export type Outage = readonly [number, number];

export class Shaper {
  private free = 0;
  private lastArrival = 0;

  constructor(
    private readonly profile: DirectionProfile,
    private readonly outages: readonly Outage[] = [],
    private readonly random: () => number = Math.random,
  ) {}

  /** When (ms, same clock as `now`) a segment of `bytes` sent at `now` arrives. */
  schedule(now: number, bytes: number): number {
    const p = this.profile;
    let start = Math.max(now, this.free);
    for (const [a, b] of this.outages) if (start >= a && start < b) start = b; // link down: wait it out
    const txMs = Number.isFinite(p.bps) ? (bytes * 8 * 1000) / p.bps : 0;
    this.free = start + txMs;
    let arrival = this.free + p.delayMs + (p.jitterMs > 0 ? this.random() * p.jitterMs : 0);
    while (p.loss > 0 && this.random() < p.loss) arrival += p.rtoMs;
    arrival = Math.max(arrival, this.lastArrival);
    this.lastArrival = arrival;
    return arrival;
  }
}
