/**
 * The lane runner: a list of inputs through devices running side by side (each its own
 * connection, so each its own emulated link), after a warm-up, with the wire bytes of the
 * measured window counted at the link proxy. The first `pilot` inputs run on one device alone
 * (the serial figure side-by-side runs are compared with); then the inputs go in chunks, each
 * sized either fixed (`parallel`) or, under 'auto', from the chunk before: as many devices as keep
 * this machine's summed CPU time at {@link AUTO_CPU_SHARE} of a core (runs that wait on a slow
 * link get many, compute-bound runs one).
 */
import type { Device, InferResult } from '../head/device.js';

/** Share of one core that 'auto' lets the devices of a run keep busy together. */
export const AUTO_CPU_SHARE = 0.5;
/**
 * CPU time of one request across the link besides the device's compute: sockets, proxy, decode
 * and the tail (a fixed estimate: the server's reported compute is a whole batch's, and grows
 * with the devices side by side, which would make the sizing chase its own tail).
 */
export const CROSSING_CPU_MS = 2;
/** Most devices side by side under 'auto'. */
export const AUTO_MAX_LANES = 16;

/** Devices side by side for inferences that took `wallMs` and cost `cpuMs` of this machine each (means). */
export function autoLanes(wallMs: number, cpuMs: number, max = AUTO_MAX_LANES): number {
  if (!(cpuMs > 0) || !(wallMs > 0)) return 1;
  return Math.max(1, Math.min(max, Math.floor((AUTO_CPU_SHARE * wallMs) / cpuMs)));
}

/** This machine's CPU time for one result: its measured compute, plus a crossing when it used the link. */
export function cpuOf(r: InferResult): number {
  const m = r.measured;
  return m.head + m.encode + m.local + (r.bytesUp > 0 ? CROSSING_CPU_MS : 0);
}

export interface LaneOptions {
  /** Opens one device (its own connection). */
  make: () => Promise<Device>;
  inputs: readonly Uint8Array[];
  /** Untimed inferences per device before it measures. */
  warmup: number;
  /** Wait for each device's handshake first (when its edge is reachable). */
  connectMs?: number;
  /** A fixed number of devices side by side, or 'auto'. */
  parallel: number | 'auto';
  /** Inputs the first device runs alone. */
  pilot: number;
  /** The proxy's byte counters (up, down), when the devices go through one. */
  bytes?: () => { up: number; down: number };
  /** Called after every inference. */
  onResult?: (index: number, r: InferResult) => void;
}

export interface LaneRun {
  results: InferResult[];
  /** Wire bytes of the measured window (warm-ups excluded). */
  wireUp: number;
  wireDown: number;
  /** Most devices that ran side by side. */
  lanes: number;
  /** The first `pilot` results ran on one device alone. */
  pilot: number;
}

/** Runs `inputs` through devices side by side; closes every device it opened. */
export async function runLanes(o: LaneOptions): Promise<LaneRun> {
  const zero = { up: 0, down: 0 };
  const bytes = o.bytes ?? ((): { up: number; down: number } => zero);
  const warm = async (d: Device): Promise<void> => {
    if (o.connectMs) await d.whenConnected(o.connectMs);
    for (let i = 0; i < o.warmup; i++) await d.infer(o.inputs[i % o.inputs.length]!);
  };
  const devices: Device[] = [];
  try {
    devices.push(await o.make());
    await warm(devices[0]!);
    const before = bytes();
    const results = new Array<InferResult>(o.inputs.length);
    let next = 0;
    const lane = async (d: Device, until: number): Promise<void> => {
      while (next < until) {
        const i = next++;
        results[i] = await d.infer(o.inputs[i]!);
        o.onResult?.(i, results[i]);
      }
    };
    const pilot = Math.min(o.pilot, o.inputs.length);
    await lane(devices[0]!, pilot);
    // Devices that join warm up first; their warm-up bytes are not the run's.
    let excluded = { up: 0, down: 0 };
    let lanes = 1;
    let from = 0;
    while (next < o.inputs.length) {
      const recent = results.slice(from, next);
      const mean = (f: (r: InferResult) => number): number => recent.reduce((a, r) => a + f(r), 0) / Math.max(1, recent.length);
      const want =
        o.parallel === 'auto'
          ? autoLanes(
              mean((r) => r.measured.wall),
              mean(cpuOf),
            )
          : Math.max(1, o.parallel);
      if (want > devices.length) {
        const joining = bytes();
        const more = await Promise.all(Array.from({ length: want - devices.length }, () => o.make()));
        devices.push(...more);
        await Promise.all(more.map(warm));
        const joined = bytes();
        excluded = { up: excluded.up + joined.up - joining.up, down: excluded.down + joined.down - joining.down };
      }
      from = next;
      const until = Math.min(o.inputs.length, next + Math.max(o.pilot, want * 25));
      await Promise.all(devices.slice(0, want).map((d) => lane(d, until)));
      lanes = Math.max(lanes, want);
    }
    const end = bytes();
    return { results, wireUp: end.up - before.up - excluded.up, wireDown: end.down - before.down - excluded.down, lanes, pilot };
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
}
