/**
 * What the device has measured, for the policy: compute times of the head and the local model
 * (timed warm at start, then followed by an EWMA; modelled from MACs when the profile's device
 * class gives a throughput), the server time and the request-to-answer time of each way of
 * sending, and how long ago the radio last transferred. A path the adaptive policy keeps avoiding
 * is never re-measured, so a high estimate would stick: `stale()` says when to take the head or
 * the local model once, and what a way of sending measured (its round trip, the server time it
 * reported) expires when not renewed for STALE_AFTER requests, giving way to the estimate from
 * the link's current figures.
 */
import type { DeviceClass } from './devices.js';
import { computeMs } from './devices.js';
import type { CostInputs, SendCost } from './policy.js';

/** Requests after which the adaptive policy re-times a path it has been avoiding (the head, the local model); decisions weighing a way of sending after which what it measured expires. */
export const STALE_AFTER = 50;

function ewma(old: number | undefined, sample: number, alpha = 0.2): number {
  return old === undefined ? sample : old + alpha * (sample - old);
}

/** Median of three timed runs after one warm-up run. */
export async function timeWarm(run: () => Promise<unknown>): Promise<number> {
  await run();
  const ms: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[1]!;
}

/** Does `device` model a model's time from its MAC count (a class with a throughput, a known count)? */
export function modelledFromMacs(device: DeviceClass, macs: number | undefined): boolean {
  return device.macsPerSecond !== undefined && macs !== undefined;
}

/** The most decisions a way of sending's figure stands unrenewed, after re-tries: 16 × STALE_AFTER. */
export const STALE_AFTER_MAX = 16 * STALE_AFTER;

/**
 * Per way of sending, an EWMA (weight 0.3) of a measured figure that expires when not renewed for
 * a while: one slow sample (the first request to a cold edge, a pause) must not keep a way unused
 * for good. The next sample after expiry starts the average afresh. The while is STALE_AFTER
 * decisions that weighed the way, doubled (up to STALE_AFTER_MAX) each time a sample comes only
 * after expiry — a re-try, which may have lost — and back to STALE_AFTER when one comes before
 * it: a way that keeps losing is re-tried ever less often. `now` counts those decisions.
 */
class Expiring {
  private readonly m = new Map<string, { value: number; at: number; life: number }>();

  observe(key: string, sample: number, now: number): void {
    const e = this.m.get(key);
    if (e === undefined) {
      this.m.set(key, { value: sample, at: now, life: STALE_AFTER });
      return;
    }
    const renewed = now - e.at < e.life;
    e.value = renewed ? ewma(e.value, sample, 0.3) : sample;
    e.life = renewed ? STALE_AFTER : Math.min(2 * e.life, STALE_AFTER_MAX);
    e.at = now;
  }

  get(key: string, now: number): number | undefined {
    const e = this.m.get(key);
    return e !== undefined && now - e.at < e.life ? e.value : undefined;
  }
}

/** Static sizes the estimates start from. */
export interface SendSizes {
  /** Per rate point index: expected wire bytes up (payload + framing). */
  split: Map<number, number>;
  /** Full offload: expected wire bytes up. */
  full: number;
  /** Expected wire bytes of an answer (before one was measured). */
  down: number;
}

export class CostTracker {
  private headMs: number;
  private localMs: number;
  /** Per way of sending: request-to-answer time, and the server time its answers reported. */
  private readonly busy = new Expiring();
  private readonly server = new Expiring();
  /** Wire bytes each way as measured per way of sending (EWMA): a compressed raw input, a tensor answer. */
  private readonly up = new Map<string, number>();
  private readonly down = new Map<string, number>();
  private lastTransferAt = -Infinity;
  /** Requests since the head, and since the local model, last ran. */
  sinceHead = 0;
  sinceLocal = 0;
  /**
   * Decisions that weighed each kind of way of sending so far: full offload (before the head) and
   * a split (after a head that did not exit). What a way measured ages by these: a split way is
   * not passed over by the images that exit.
   */
  private readonly weighed = { full: 0, split: 0 };

  constructor(
    private readonly device: DeviceClass,
    private readonly macs: { head?: number; full?: number },
    measured: { headMs: number; localMs: number },
    private readonly sizes: SendSizes,
  ) {
    this.headMs = measured.headMs;
    this.localMs = measured.localMs;
  }

  /** The head's time on the modelled device (measured on this one when the class has no throughput). */
  headOn(measuredMs: number): number {
    return computeMs(this.device, this.macs.head, measuredMs);
  }

  localOn(measuredMs: number): number {
    return computeMs(this.device, this.macs.full, measuredMs);
  }

  observeHead(ms: number): void {
    this.headMs = ewma(this.headMs, ms);
    this.sinceHead = 0;
  }

  /** A decision weighed this kind of way of sending (every rate point is a 'split'): what it measured ages by one. */
  weigh(way: 'full' | 'split'): void {
    this.weighed[way]++;
  }

  /** The decision count what `key` ('full' or a rate point index) measured ages by. */
  private age(key: string): number {
    return key === 'full' ? this.weighed.full : this.weighed.split;
  }

  observeLocal(ms: number): void {
    this.localMs = ewma(this.localMs, ms);
    this.sinceLocal = 0;
  }

  /**
   * An answered send: `key` 'full' or the rate point index; busy = request to answer, server time
   * from the answer's timings when it had them, the wire bytes it took each way.
   */
  observeSend(key: string, busyMs: number, serverMs: number | undefined, now: number, bytes?: { up: number; down: number }): void {
    this.busy.observe(key, busyMs, this.age(key));
    if (bytes) {
      this.up.set(key, ewma(this.up.get(key), bytes.up, 0.3));
      this.down.set(key, ewma(this.down.get(key), bytes.down, 0.3));
    }
    if (serverMs !== undefined) this.server.observe(key, serverMs, this.age(key));
    this.lastTransferAt = now;
  }

  /** A transfer that ended without an answer still kept the radio up. */
  observeTransfer(now: number): void {
    this.lastTransferAt = now;
  }

  /**
   * Is a path unmeasured for STALE_AFTER requests, and would measuring it change its estimate? A
   * path modelled from MACs (the device class gives a throughput) is never stale: re-timing it
   * could only cost (measured: a microcontroller re-ran its 262 ms local model every 50 requests,
   * 1-2% of its answers, to learn nothing).
   */
  stale(path: 'head' | 'local'): boolean {
    if (modelledFromMacs(this.device, path === 'head' ? this.macs.head : this.macs.full)) return false;
    return (path === 'head' ? this.sinceHead : this.sinceLocal) >= STALE_AFTER;
  }

  private send(key: string, bytesUp: number): SendCost {
    const busyMs = this.busy.get(key, this.age(key));
    return {
      bytesUp: this.up.get(key) ?? bytesUp,
      bytesDown: this.down.get(key) ?? this.sizes.down,
      serverMs: this.server.get(key, this.age(key)) ?? 1,
      ...(busyMs !== undefined ? { busyMs } : {}),
    };
  }

  /** The policy's inputs now. */
  inputs(now: number): CostInputs {
    const split = new Map<number, SendCost>();
    for (const [rp, bytes] of this.sizes.split) split.set(rp, this.send(String(rp), bytes));
    return {
      headMs: this.headOn(this.headMs),
      localMs: this.localOn(this.localMs),
      split,
      full: this.send('full', this.sizes.full),
      sinceTransferMs: now - this.lastTransferAt,
    };
  }
}
