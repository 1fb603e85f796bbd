/**
 * The cost estimator's starting point: what each way of sending is expected to put on the wire
 * before anything was measured (each rate point's measured mean payload, or its largest, plus
 * framing; the raw input; a class answer or the output tensors at the device's output encoding),
 * the rate points the policy may choose among, and the CostTracker (head/costs.ts) built from
 * them, the bundle's MACs and the models' warm times.
 */
import { maxPayloadBytes, type RatePoint } from '../bottleneck/features.js';
import type { Manifest } from '../protocol/manifest.js';
import { CostTracker, type SendSizes } from './costs.js';
import type { DeviceProfile } from './devices.js';
import type { PolicyOptions } from './policy.js';
import { wsClientOverhead } from './transport.js';

/** Framing of a request beyond its payload (protobuf) and of a class answer, bytes: for estimates before anything was measured. */
export const REQUEST_FRAMING = 8;
export const ANSWER_BYTES = 14;

/** Bytes per output value at each output encoding. */
const OUTPUT_WIDTH = { fp32: 4, fp16: 2, int8: 1 } as const;

/** Expected wire bytes of each way of sending, before any was measured. */
export function startingSizes(m: Manifest, ratePoints: readonly RatePoint[], outputEncoding: keyof typeof OUTPUT_WIDTH = 'fp32'): SendSizes {
  const split = new Map<number, number>();
  ratePoints.forEach((rp, i) => {
    const payload = m.bottleneck.ratePoints[i]!.bytes?.mean ?? maxPayloadBytes(m.bottleneck.shape, rp);
    split.set(i, payload + REQUEST_FRAMING + wsClientOverhead(payload + REQUEST_FRAMING));
  });
  const rawBytes = m.input.raw.shape.reduce((a, b) => a * b, 1) * (m.input.raw.dtype === 'float32' ? 4 : 1);
  // A class answer, or the tensors at the output encoding's width.
  const width = OUTPUT_WIDTH[outputEncoding];
  const down =
    m.task === 'classification'
      ? ANSWER_BYTES
      : m.graphs.tail.outputs.reduce((a, t) => a + t.shape.slice(1).reduce((x, d) => x * Math.max(1, d), 1) * width, ANSWER_BYTES);
  return { split, full: rawBytes + REQUEST_FRAMING + wsClientOverhead(rawBytes), down };
}

/**
 * Keeps in `split` the rate points the policy may choose among. Without an accuracy per rate point
 * (bundles cut by offramp split state their agreement instead) the policy cannot trade accuracy
 * for bytes: it offloads at the default rate point, unless it fixes one.
 */
export function keepChoosable(split: Map<number, number>, m: Manifest, policy: PolicyOptions): void {
  if (policy.ratePoint === undefined && !m.bottleneck.ratePoints.some((rp) => rp.accuracy !== undefined)) {
    for (const i of [...split.keys()]) if (i !== m.bottleneck.defaultRatePoint) split.delete(i);
  }
}

/** The device's cost tracker: the profile's device class, the bundle's MACs, the models' warm times, the starting sizes. */
export function costTrackerFor(
  m: Manifest,
  ratePoints: readonly RatePoint[],
  profile: DeviceProfile,
  measured: { headMs: number; localMs: number },
  policy: PolicyOptions,
  outputEncoding?: keyof typeof OUTPUT_WIDTH,
): CostTracker {
  const sizes = startingSizes(m, ratePoints, outputEncoding);
  keepChoosable(sizes.split, m, policy);
  return new CostTracker(profile.device, { head: m.macs ? m.macs.head + (m.macs.exits ?? 0) : undefined, full: m.macs?.full }, measured, sizes);
}
