import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICES, parseDevice } from '../../bench/devices.js';
import { AUTO_MAX_LANES, autoLanes, runBench, type BenchResult, type BenchRow } from '../../bench/harness/run.js';
import { targetChecks, writeReport } from '../../bench/harness/report.js';
import { LINKS, parseLink } from '../../bench/link/profiles.js';
import { benchCommand } from '../../cli/bench.js';
import { TINY } from '../tail/client.js';

describe('link and device profiles', () => {
  it('parses named and custom links, and refuses nonsense with a message', () => {
    expect(parseLink('lte').profile.up.bps).toBe(5.85e6);
    const custom = parseLink('lab:20:40:8:2:0.01');
    expect(custom.profile).toMatchObject({ name: 'lab', up: { bps: 20e6, delayMs: 4, jitterMs: 2, loss: 0.01 }, down: { bps: 40e6, delayMs: 4 } });
    expect(() => parseLink('moon')).toThrow(/unknown link 'moon'/);
    expect(() => parseLink('x:0:1:5')).toThrow(/rates must be > 0/);
    expect(() => parseLink('x:1:1:5:0:1')).toThrow(/loss in \[0, 1\)/);
    for (const l of Object.values(LINKS)) expect(l.source.length).toBeGreaterThan(10);
  });
  it('parses named and custom devices', () => {
    expect(parseDevice('rpi4')).toBe(DEVICES.rpi4);
    expect(parseDevice('board:3:2.5')).toMatchObject({ name: 'board', slowdown: 3, computePowerW: 2.5 });
    expect(() => parseDevice('board:0:1')).toThrow(/name:slowdown:watts/);
  });
});

describe('--parallel auto', () => {
  it('gives as many devices as keep half a core busy, from the pilot means, between 1 and the cap', () => {
    expect(autoLanes(80, 4)).toBe(10); // ⌊0.5 × 80 / 4⌋
    expect(autoLanes(160, 4)).toBe(AUTO_MAX_LANES);
    expect(autoLanes(1.2, 1.2)).toBe(1);
    expect(autoLanes(17, 3)).toBe(2);
    expect(autoLanes(50, 0)).toBe(1);
    expect(autoLanes(Number.NaN, 1)).toBe(1);
  });

  it('offramp bench refuses a --parallel that is neither a positive integer nor auto, before running anything', async () => {
    for (const bad of ['0', '2.5', 'lots']) {
      const errs: string[] = [];
      const code = await benchCommand({ links: 'lte', device: 'host', samples: '10', parallel: bad, warmup: '0', deadlineMs: '1000', lteTailJ: '0', progress: false }, () => {}, (m) => errs.push(m), []);
      expect(code).toBe(2);
      expect(errs).toEqual([`offramp bench: --parallel must be a positive integer or 'auto', got '${bad}'`]);
    }
  });

  it('one device for a run that computes, several for one that waits on the link', async () => {
    const slow = parseLink('slow:20:20:60');
    const r = await runBench({ bundles: [TINY], links: [slow], devices: [DEVICES.host!], samples: 40, parallel: 'auto', pilot: 8, warmup: 2, deadlineMs: 5000 });
    const get = (s: string): BenchRow => r.rows.find((x) => x.strategy === s)!;
    expect(get('local').lanes).toBe(1);
    expect(get('offload').lanes).toBeGreaterThan(1);
    for (const x of r.rows) expect(x.samples).toBe(40);
    // Every inference counted once however many devices ran it.
    expect(Object.values(get('offload').paths).reduce((a, b) => a + b, 0)).toBe(40);
  }, 120_000);
});

describe('runBench on the tiny bundle (real edge, real proxy, real sockets)', () => {
  let result: BenchResult;
  let out: string;
  const fast = parseLink('lab:20:20:10');
  beforeAll(async () => {
    result = await runBench({ bundles: [TINY], links: [fast, LINKS.offline!], devices: [DEVICES.host!, DEVICES.rpi4!], samples: 16, parallel: 2, pilot: 4, warmup: 2, deadlineMs: 5000 });
    out = await mkdtemp(join(tmpdir(), 'offramp-bench-'));
  }, 120_000);
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });
  const row = (link: string, device: string, strategy: string): BenchRow => result.rows.find((r) => r.link === link && r.device === device && r.strategy === strategy)!;

  it('has one row per link × device × strategy, each over every sample', () => {
    expect(result.rows).toHaveLength(2 * 2 * 7);
    for (const r of result.rows) expect(r.samples).toBe(16);
  });

  it('starts every run with a serial pilot, then runs the devices side by side', () => {
    for (const r of result.rows) {
      expect(r.pilotSamples).toBe(4);
      expect(r.pilotLatencyMsMean).toBeGreaterThan(0);
      expect(r.lanes).toBe(2);
    }
    // The pilot is the run's first samples: over a 10 ms RTT an offload cannot take less.
    expect(row('lab', 'host', 'offload').pilotLatencyMsMean).toBeGreaterThan(10);
  });

  it('runs each strategy the way it says', () => {
    const local = row('lab', 'host', 'local');
    expect(local.paths).toEqual({ local: 16 });
    expect(local.bytesUp).toBe(0);
    expect(row('lab', 'host', 'offload').paths).toEqual({ edge: 16 });
    expect(row('lab', 'host', 'offload').bits).toEqual({ 8: 16 });
    const split = row('lab', 'host', 'split');
    expect(split.paths).toEqual({ edge: 16 });
    expect(Object.keys(split.bits)).toEqual([String(result.bundles[0]!.bits)]);
    const se = row('lab', 'host', 'split-exit');
    expect((se.paths['exit:0'] ?? 0) + (se.paths.edge ?? 0)).toBe(16);
    expect(se.exitRate).toBeGreaterThan(0);
  });

  it('counts bytes on the wire at the proxy: the raw image costs more than the bottleneck', () => {
    const off = row('lab', 'host', 'offload');
    const split = row('lab', 'host', 'split');
    expect(split.bytesUp).toBeGreaterThan(split.frameBytesUp); // WebSocket framing and pings on top of the frames
    expect(off.bytesUp).toBeGreaterThan(split.bytesUp);
    expect(off.bytesDown).toBeGreaterThan(0);
  });

  it('models a slower device by scaling measured compute, and marks it modelled', () => {
    const host = row('lab', 'host', 'local');
    const pi = row('lab', 'rpi4', 'local');
    expect(pi.latencyMsMean).toBeGreaterThan(host.latencyMsMean * 4);
    expect(pi.measured.latency).toBe('modelled');
    expect(host.measured.latency).toBe('measured');
    expect(pi.energyJ).toBeGreaterThan(0);
  });

  it('the oracle is the best baseline in hindsight, for latency and for energy separately', () => {
    for (const device of ['host', 'rpi4']) {
      const base = ['local', 'offload', 'split', 'split-exit'].map((s) => row('lab', device, s));
      const oracle = row('lab', device, 'oracle');
      expect(oracle.latencyMsMean).toBe(Math.min(...base.map((r) => r.latencyMsMean)));
      expect(oracle.energyJ).toBe(Math.min(...base.map((r) => r.energyJ)));
    }
  });

  it('offline: every offload falls back to the local model, with the reason', () => {
    const off = row('offline', 'host', 'split');
    expect(off.paths).toEqual({ fallback: 16 });
    expect(Object.keys(off.fallbacks)).toEqual(['disconnected']);
    expect(off.accuracy).toBe(row('offline', 'host', 'local').accuracy);
  });

  it('writes the report: Markdown with the target checks and SVG plots', async () => {
    const files = await writeReport(result, { cpu: 'test', cores: 2, node: process.version, commit: 'test', date: 'now', packages: {} }, out, 'offramp bench (test)');
    expect(files.map((f) => f.slice(out.length + 1)).sort()).toEqual(['energy.svg', 'exit-rate.svg', 'latency-vs-uplink.svg', 'rate-accuracy.svg', 'report.md']);
    const svg = await readFile(join(out, 'energy.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    const md = await readFile(join(out, 'report.md'), 'utf8');
    for (const c of targetChecks(result)) expect(md).toContain(c.name);
    expect(md).toContain('(modelled)');
  });
});
