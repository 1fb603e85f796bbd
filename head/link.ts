/**
 * The device's link estimate: exponentially weighted moving averages of the round-trip time
 * (from pings and requests) and of the uplink throughput (from requests whose transfer time
 * stands out above the RTT). Pure state: callers pass the measurements in.
 */
import type { LinkEstimate } from './policy.js';

export interface LinkEstimatorOptions {
  /** Weight of a new observation (0..1]. Default 0.3. */
  alpha?: number;
  /** Starting estimate, before anything was measured. */
  initial?: Partial<Omit<LinkEstimate, 'available'>>;
  /** Transfers shorter than this (ms above the RTT) say nothing about throughput. Default 1. */
  minTransferMs?: number;
}

export class LinkEstimator {
  private rtt: number;
  private up: number;
  private down: number;
  private available = false;
  private readonly alpha: number;
  private readonly minTransferMs: number;

  constructor(options: LinkEstimatorOptions = {}) {
    this.alpha = options.alpha ?? 0.3;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${this.alpha}`);
    this.rtt = options.initial?.rttMs ?? 50;
    this.up = options.initial?.uplinkBps ?? 10e6;
    this.down = options.initial?.downlinkBps ?? this.up;
    this.minTransferMs = options.minTransferMs ?? 1;
  }

  private ewma(old: number, sample: number): number {
    return old + this.alpha * (sample - old);
  }

  /** The RTT estimate is the prior or a provisional sample: the next measured one replaces it. */
  private provisional = true;

  /**
   * A round trip, ms. A measured one (a ping's) replaces a provisional estimate outright and
   * moves a measured one by alpha. A `provisional` one (the handshake's: it includes the edge's
   * handling of the Hello) replaces the estimate until the next measured one: after a reconnect
   * it is the first word on what may be another network.
   */
  observeRtt(ms: number, provisional = false): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.rtt = this.provisional || provisional ? ms : this.ewma(this.rtt, ms);
    this.provisional = provisional;
  }

  /**
   * One answered request: bytes each way and the time spent outside the server (total − server
   * time reported in the response), ms.
   */
  observeRequest(bytesUp: number, bytesDown: number, networkMs: number): void {
    if (!Number.isFinite(networkMs) || networkMs < 0) return;
    const transferMs = networkMs - this.rtt;
    if (transferMs >= this.minTransferMs) {
      // Attribute the transfer time to both directions in proportion to their bytes.
      const total = bytesUp + bytesDown;
      if (total > 0) {
        const bps = (total * 8 * 1000) / transferMs;
        this.up = this.ewma(this.up, bps);
        this.down = this.ewma(this.down, bps);
      }
    } else {
      this.rtt = this.provisional ? networkMs : this.ewma(this.rtt, networkMs);
      this.provisional = false;
    }
  }

  setAvailable(available: boolean): void {
    this.available = available;
  }

  estimate(): LinkEstimate {
    return { available: this.available, rttMs: this.rtt, uplinkBps: this.up, downlinkBps: this.down };
  }
}
