/**
 * The lane runner (scenario/lanes.ts) with fake devices: the serial pilot, the chunks, fixed and
 * 'auto' lane counts, every input run once, the wire bytes of the measured window, closing.
 * The fake devices answer on a microtask, so lanes interleave without any timer.
 */
import { describe, expect, it } from 'vitest';
import type { Device, InferResult } from '../../head/device.js';
import { deviceProfile } from '../../head/devices.js';
import type { Manifest } from '../../protocol/manifest.js';
import { AUTO_CPU_SHARE, AUTO_MAX_LANES, autoLanes, CROSSING_CPU_MS, cpuOf, runLanes } from '../../scenario/lanes.js';

type Measured = InferResult['measured'];

/** An InferResult with the figures the lane runner reads (label: the input's id). */
function result(label: number, measured: Measured, bytesUp: number): InferResult {
  return {
    label,
    labelName: undefined,
    confidence: 1,
    path: 'edge',
    payloadBytes: bytesUp,
    bytesUp,
    bytesDown: 0,
    timings: { head: 0, encode: 0, network: 0, server: { queue: 0, decode: 0, compute: 0 }, local: 0, total: measured.wall },
    energy: { computeJ: 0, radioJ: 0, totalJ: 0, model: 'fake' },
    measured,
  };
}

/** What the fake devices did, shared by all of them. */
interface Log {
  made: number;
  closed: number[];
  connected: { device: number; timeoutMs: number }[];
  /** Every infer(): which device, which input id, whether it was a warm-up. */
  calls: { device: number; input: number; warm: boolean }[];
  inFlight: number;
  maxInFlight: number;
  /** Most in flight while each input ran. */
  inFlightAt: Map<number, number>;
  bytes: { up: number; down: number };
  /** Measured inferences starting and ending, in order ('+7', '-7'). */
  events: string[];
}

function newLog(): Log {
  return { made: 0, closed: [], connected: [], calls: [], inFlight: 0, maxInFlight: 0, inFlightAt: new Map(), bytes: { up: 0, down: 0 }, events: [] };
}

/**
 * A factory of fake devices: infer() yields `yields(input)` microtasks (default one) and answers with `figures(input)`;
 * each call adds 10 B up and 3 B down to the shared counter, as a proxy would count them. The
 * runner warms a device right after making it, so each device's first `warmup` calls are its warm-ups.
 */
function fakes(
  log: Log,
  warmup: number,
  figures: (input: number) => { measured: Measured; bytesUp: number },
  failOn?: number,
  yields: (input: number) => number = () => 1,
): () => Promise<Device> {
  return () => {
    const id = log.made++;
    let calls = 0;
    const device = {
      manifest: {} as Manifest,
      backend: 'onnxruntime-node' as const,
      profile: deviceProfile('host', 'lte'),
      connected: true,
      whenConnected(timeoutMs: number): Promise<boolean> {
        log.connected.push({ device: id, timeoutMs });
        return Promise.resolve(true);
      },
      async infer(sample: Uint8Array): Promise<InferResult> {
        const input = sample[0]!;
        const warm = calls++ < warmup;
        log.calls.push({ device: id, input, warm });
        log.inFlight++;
        log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
        if (!warm) log.events.push(`+${input}`);
        for (let y = yields(input); y > 0; y--) await Promise.resolve();
        if (!warm) log.events.push(`-${input}`);
        if (!warm) log.inFlightAt.set(input, Math.max(log.inFlightAt.get(input) ?? 0, log.inFlight));
        log.inFlight--;
        log.bytes.up += 10;
        log.bytes.down += 3;
        if (input === failOn && !warm) throw new Error(`input ${input} failed`);
        const f = figures(input);
        return result(input, f.measured, f.bytesUp);
      },
      close(): Promise<void> {
        log.closed.push(id);
        return Promise.resolve();
      },
    };
    return Promise.resolve(device as unknown as Device);
  };
}

const WARMUP = 2;
/** Inputs whose first byte is their index (n ≤ 256). */
const inputs = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => Uint8Array.of(i));
const m = (head: number, wall: number): Measured => ({ head, encode: 0, busy: 0, local: 0, wall });
const measuredCalls = (log: Log): Log['calls'] => log.calls.filter((c) => !c.warm);

describe('autoLanes: as many devices as keep half a core busy, between 1 and the cap', () => {
  it('is ⌊share × wall ÷ cpu⌋', () => {
    expect(AUTO_CPU_SHARE).toBe(0.5);
    expect(autoLanes(80, 4)).toBe(10); // ⌊0.5 × 80 / 4⌋
    expect(autoLanes(17, 3)).toBe(2); // ⌊2.83⌋
    expect(autoLanes(60, 2)).toBe(15);
  });
  it('never gives fewer than one device', () => {
    expect(autoLanes(1.2, 1.2)).toBe(1); // ⌊0.5⌋ = 0 → 1
    expect(autoLanes(3, 100)).toBe(1);
  });
  it('caps at AUTO_MAX_LANES (16) or the given maximum', () => {
    expect(AUTO_MAX_LANES).toBe(16);
    expect(autoLanes(160, 4)).toBe(16); // 20 → 16
    expect(autoLanes(1e9, 1)).toBe(16);
    expect(autoLanes(1000, 1, 4)).toBe(4);
  });
  it('gives one device for figures it cannot use (no CPU time, no wall time, NaN, negative)', () => {
    expect(autoLanes(50, 0)).toBe(1);
    expect(autoLanes(0, 5)).toBe(1);
    expect(autoLanes(Number.NaN, 1)).toBe(1);
    expect(autoLanes(10, Number.NaN)).toBe(1);
    expect(autoLanes(-10, -1)).toBe(1);
  });
});

describe('cpuOf: measured compute, plus a crossing when the link was used', () => {
  it('sums head, encode and local; adds CROSSING_CPU_MS (2) when bytes went up; ignores busy and wall', () => {
    expect(CROSSING_CPU_MS).toBe(2);
    const measured = { head: 1.5, encode: 0.25, busy: 50, local: 3, wall: 60 };
    expect(cpuOf(result(0, measured, 0))).toBe(4.75);
    expect(cpuOf(result(0, measured, 120))).toBe(6.75);
  });
});

describe('runLanes with a fixed number of devices', () => {
  const N = 40;
  const PILOT = 5;

  it('warms each device, runs the pilot on the first alone, then the rest on three side by side, each input once', async () => {
    const log = newLog();
    const seen: number[] = [];
    const run = await runLanes({
      make: fakes(log, WARMUP, () => ({ measured: m(1, 5), bytesUp: 10 })),
      inputs: inputs(N),
      warmup: WARMUP,
      pilot: PILOT,
      parallel: 3,
      connectMs: 1234,
      bytes: () => ({ ...log.bytes }),
      onResult: (i) => seen.push(i),
    });
    // Results in input order; every input reported once.
    expect(run.results.map((r) => r.label)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(
      measuredCalls(log)
        .map((c) => c.input)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(run).toMatchObject({ lanes: 3, pilot: PILOT });
    // Three devices, each waited for and warmed on the first inputs (i mod N), each closed once.
    expect(log.made).toBe(3);
    expect(log.connected).toEqual([0, 1, 2].map((device) => ({ device, timeoutMs: 1234 })));
    for (const d of [0, 1, 2]) expect(log.calls.filter((c) => c.device === d && c.warm).map((c) => c.input)).toEqual([0, 1]);
    expect([...log.closed].sort()).toEqual([0, 1, 2]);
    // The pilot: the first inputs, in order, on the first device, alone.
    const measured = measuredCalls(log);
    expect(measured.slice(0, PILOT)).toEqual(Array.from({ length: PILOT }, (_, i) => ({ device: 0, input: i, warm: false })));
    for (let i = 0; i < PILOT; i++) expect(log.inFlightAt.get(i)).toBe(1);
    // Then three at once, every device taking part.
    expect(log.maxInFlight).toBe(3);
    expect(new Set(measured.slice(PILOT).map((c) => c.device))).toEqual(new Set([0, 1, 2]));
    // Wire bytes of the measured window only: 10 B up and 3 B down per measured inference, warm-ups left out.
    expect(run.wireUp).toBe(N * 10);
    expect(run.wireDown).toBe(N * 3);
  });

  it('without a byte counter or an edge to wait for: zero wire bytes, no whenConnected', async () => {
    const log = newLog();
    const run = await runLanes({
      make: fakes(log, WARMUP, () => ({ measured: m(1, 5), bytesUp: 0 })),
      inputs: inputs(12),
      warmup: WARMUP,
      pilot: 4,
      parallel: 2,
    });
    expect(run).toMatchObject({ wireUp: 0, wireDown: 0, lanes: 2, pilot: 4 });
    expect(log.connected).toEqual([]);
    expect(measuredCalls(log)).toHaveLength(12);
  });

  it('a run no longer than its pilot uses one device', async () => {
    const log = newLog();
    const run = await runLanes({
      make: fakes(log, WARMUP, () => ({ measured: m(1, 5), bytesUp: 0 })),
      inputs: inputs(3),
      warmup: WARMUP,
      pilot: 8,
      parallel: 4,
    });
    expect(run).toMatchObject({ lanes: 1, pilot: 3 });
    expect(log.made).toBe(1);
    expect(log.maxInFlight).toBe(1);
    expect(measuredCalls(log).map((c) => c.input)).toEqual([0, 1, 2]);
  });

  it('goes in chunks of max(pilot, lanes × 25) inputs: a chunk ends when its slowest inference does', async () => {
    // parallel 2, pilot 3, 120 inputs: [0, 3) alone, then [3, 53), [53, 103), [103, 120).
    // Inputs 50 and 100 are slow (1000 microtasks): the other device finishes the chunk's other
    // inputs meanwhile, and waits for the slow one before the next chunk starts.
    const log = newLog();
    const run = await runLanes({
      make: fakes(
        log,
        0,
        () => ({ measured: m(1, 5), bytesUp: 0 }),
        undefined,
        (i) => (i === 50 || i === 100 ? 1000 : 1),
      ),
      inputs: inputs(120),
      warmup: 0,
      pilot: 3,
      parallel: 2,
    });
    expect(run.lanes).toBe(2);
    const at = (e: string): number => log.events.indexOf(e);
    for (const [slow, boundary] of [
      [50, 53],
      [100, 103],
    ] as const) {
      expect(at(`-${boundary - 1}`)).toBeLessThan(at(`-${slow}`)); // the other device went on
      expect(at(`+${boundary}`)).toBeGreaterThan(at(`-${slow}`)); // the next chunk waited
    }
    // The pilot ends before the first chunk starts.
    expect(at('+3')).toBeGreaterThan(at('-2'));
    expect(
      log.events
        .filter((e) => e.startsWith('+'))
        .map((e) => Number(e.slice(1)))
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 120 }, (_, i) => i));
  });

  it('closes every device it opened when an inference throws, and rejects with that error', async () => {
    const log = newLog();
    await expect(
      runLanes({ make: fakes(log, WARMUP, () => ({ measured: m(1, 5), bytesUp: 0 }), 20), inputs: inputs(40), warmup: WARMUP, pilot: 4, parallel: 3 }),
    ).rejects.toThrow(new Error('input 20 failed'));
    expect(log.made).toBe(3);
    expect([...log.closed].sort()).toEqual([0, 1, 2]);
  });
});

describe("runLanes with parallel 'auto'", () => {
  it('one device while inferences compute, many once they wait on the link, sized from the chunk before', async () => {
    // Inputs 0..28: compute-bound (wall 10 ms, cpu 10 ms → 1 device). Inputs 29..: wall 40 ms,
    // head 0.5 ms + a crossing 2 ms = 2.5 ms of CPU → ⌊0.5 × 40 / 2.5⌋ = 8 devices.
    // Pilot 4: [0, 4) alone; its figures give 1 device for [4, 29) (max(4, 25) inputs); those give 1
    // device for [29, 54); those give 8 for the rest.
    const log = newLog();
    const figures = (i: number): { measured: Measured; bytesUp: number } =>
      i < 29 ? { measured: m(10, 10), bytesUp: 0 } : { measured: m(0.5, 40), bytesUp: 20 };
    const run = await runLanes({ make: fakes(log, WARMUP, figures), inputs: inputs(120), warmup: WARMUP, pilot: 4, parallel: 'auto' });
    expect(run).toMatchObject({ lanes: 8, pilot: 4 });
    expect(log.made).toBe(8);
    const measured = measuredCalls(log);
    const devicesFor = (from: number, to: number): Set<number> => new Set(measured.filter((c) => c.input >= from && c.input < to).map((c) => c.device));
    expect(devicesFor(0, 54)).toEqual(new Set([0]));
    for (let i = 0; i < 54; i++) expect(log.inFlightAt.get(i)).toBe(1);
    expect(devicesFor(54, 120)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7]));
    expect(log.maxInFlight).toBe(8);
    expect(measured.map((c) => c.input).sort((a, b) => a - b)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    expect(log.closed).toHaveLength(8);
  });

  it('stays at one device for a compute-bound run', async () => {
    const log = newLog();
    const run = await runLanes({
      make: fakes(log, WARMUP, () => ({ measured: m(4, 5), bytesUp: 0 })),
      inputs: inputs(80),
      warmup: WARMUP,
      pilot: 10,
      parallel: 'auto',
    });
    expect(run).toMatchObject({ lanes: 1, pilot: 10 });
    expect(log.made).toBe(1);
    expect(log.maxInFlight).toBe(1);
  });

  it('never goes above AUTO_MAX_LANES', async () => {
    const log = newLog();
    const run = await runLanes({
      make: fakes(log, 0, () => ({ measured: m(0, 10_000), bytesUp: 10 })),
      inputs: inputs(60),
      warmup: 0,
      pilot: 2,
      parallel: 'auto',
    });
    expect(run.lanes).toBe(AUTO_MAX_LANES);
    expect(log.made).toBe(AUTO_MAX_LANES);
  });
});
