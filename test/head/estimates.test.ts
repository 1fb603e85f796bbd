/** head/estimates.ts: the wire bytes each way of sending starts from, the rate points the policy may choose among, the tracker built from them. */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RatePoint } from '../../bottleneck/features.js';
import { resolveRatePoints } from '../../bottleneck/rate-points.js';
import { openDeviceBundle } from '../../head/bundle-source.js';
import { deviceProfile } from '../../head/devices.js';
import { ANSWER_BYTES, costTrackerFor, keepChoosable, REQUEST_FRAMING, startingSizes } from '../../head/estimates.js';
import { folderReader } from '../../head/folder.js';
import type { Manifest } from '../../protocol/manifest.js';
import { TINY } from './helpers.js';

let manifest: Manifest;
let ratePoints: RatePoint[];
/** tiny with no accuracy per rate point (as offramp split writes bundles). */
let noAccuracy: Manifest;

beforeAll(async () => {
  const opened = await openDeviceBundle(TINY, undefined, undefined, folderReader);
  manifest = opened.manifest;
  ratePoints = resolveRatePoints(manifest, opened.tables);
  noAccuracy = { ...manifest, bottleneck: { ...manifest.bottleneck, ratePoints: manifest.bottleneck.ratePoints.map(({ accuracy: _, ...rp }) => rp) } };
});

describe('startingSizes', () => {
  it('a rate point’s measured mean payload or its largest, the raw input, a class answer: each with its framing', () => {
    expect(REQUEST_FRAMING).toBe(8);
    expect(ANSWER_BYTES).toBe(14);
    // s1: the exporter's mean (13.0324 B) + 8 + 6 (WebSocket header and mask); u4: 98 values at 4 bits = 49 B;
    // f16: 196 B, whose frame needs the 16-bit length (8 B of WebSocket framing); the raw 28×28 bytes.
    expect(startingSizes(manifest, ratePoints)).toEqual({
      split: new Map([
        [0, 13.0324 + 14],
        [1, 63],
        [2, 212],
      ]),
      full: 800,
      down: 14,
    });
  });

  it('a tensor bundle’s answer: its tail outputs at the output encoding’s width, beyond a class answer', () => {
    const tensor: Manifest = { ...manifest, task: 'tensor' };
    expect(startingSizes(tensor, ratePoints).down).toBe(14 + 10 * 4);
    expect(startingSizes(tensor, ratePoints, 'fp16').down).toBe(14 + 10 * 2);
    expect(startingSizes(tensor, ratePoints, 'int8').down).toBe(14 + 10);
  });
});

describe('keepChoosable', () => {
  it('keeps every rate point when the bundle states their accuracy, or when the policy fixes one', () => {
    const split = startingSizes(noAccuracy, ratePoints).split;
    keepChoosable(split, noAccuracy, { objective: 'latency', maxAccuracyLoss: 0.005, ratePoint: 2 });
    expect([...split.keys()]).toEqual([0, 1, 2]);
    keepChoosable(split, manifest, { objective: 'latency', maxAccuracyLoss: 0.005 });
    expect([...split.keys()]).toEqual([0, 1, 2]);
  });

  it('keeps only the default rate point without accuracies', () => {
    const m: Manifest = { ...noAccuracy, bottleneck: { ...noAccuracy.bottleneck, defaultRatePoint: 1 } };
    const split = startingSizes(m, ratePoints).split;
    keepChoosable(split, m, { objective: 'latency', maxAccuracyLoss: 0.005 });
    expect([...split]).toEqual([[1, 63]]);
  });
});

describe('costTrackerFor', () => {
  it("starts from the bundle's MACs on a modelled class, the warm times on a measured one, and the choosable rate points", () => {
    const policy = { objective: 'latency', maxAccuracyLoss: 0.005 } as const;
    const mcu = costTrackerFor(noAccuracy, ratePoints, deviceProfile('mcu', 'wifi'), { headMs: 3, localMs: 5 }, policy).inputs(0);
    expect(mcu.headMs).toBeCloseTo((12544 / 1.39e8) * 1000, 12);
    expect(mcu.localMs).toBeCloseTo((23520 / 1.39e8) * 1000, 12);
    expect([...mcu.split.keys()]).toEqual([0]);
    expect(mcu.split.get(0)).toEqual({ bytesUp: 13.0324 + 14, bytesDown: 14, serverMs: 1 });
    expect(mcu.full).toEqual({ bytesUp: 800, bytesDown: 14, serverMs: 1 });
    const host = costTrackerFor(manifest, ratePoints, deviceProfile('host', 'lte'), { headMs: 3, localMs: 5 }, policy).inputs(0);
    expect(host).toMatchObject({ headMs: 3, localMs: 5 });
    expect([...host.split.keys()]).toEqual([0, 1, 2]);
  });
});
