/**
 * The cost estimator of `offramp recommend`: every way to run a profiled model (all on the
 * device, the raw input to the edge, a cut at a rate point) priced on a device class and a link —
 * device compute (MACs on a modelled class, this host's measured time otherwise), bytes each way,
 * edge compute, the link's busy time (head/policy.ts) and the device's energy (head/energy.ts).
 */
import { computeMs, power, type DeviceProfile } from '../head/devices.js';
import { inferenceEnergy } from '../head/energy.js';
import { expectedBusyMs, type LinkEstimate } from '../head/policy.js';
import { wsClientOverhead } from '../head/transport.js';
import type { NamedLink } from '../link/profiles.js';
import type { Agreement } from './agreement.js';
import { OUTPUT_ENCODINGS, type OutputEncodingName } from './answers.js';
import { product } from './data.js';
import type { ModelProfile } from './profile.js';
import type { OptionCost } from './recommend.js';

/** Bytes of a Request frame carrying `payload` bytes (id, rate, zstd flag), with the device's WebSocket header. */
export function requestWireBytes(payload: number): number {
  const varint = (n: number): number => (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : n < 268435456 ? 4 : 5);
  const inner = 2 + 1 + varint(payload) + payload + 2 + 2;
  const frame = 1 + varint(inner) + inner;
  return frame + wsClientOverhead(frame);
}

/** The edge's frame limit for a bundle with this bottleneck and raw sample (tail/registry.ts: the larger float32 tensor + 4 KiB). */
export function frameLimit(bottleneckShape: readonly number[], rawShape: readonly number[]): number {
  return Math.max(4 * product(bottleneckShape), 4 * product(rawShape)) + 4096;
}

/** `n` bytes in B, kB or MB. */
export const fmtBytes = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e4 ? `${(n / 1e3).toFixed(1)} kB` : `${Math.round(n)} B`);

/** What the device's policy would estimate for `link` before measuring: its configured round trip and rates. */
export function linkEstimate(link: NamedLink): LinkEstimate {
  return {
    available: true,
    rttMs: link.profile.up.delayMs + link.profile.down.delayMs,
    uplinkBps: link.profile.up.bps,
    downlinkBps: link.profile.down.bps,
  };
}

/** An option before pricing. */
export type OptionBase = Omit<OptionCost, 'latencyMs' | 'energyJ'>;

/**
 * Prices options on `profile` over `est`: a device option is its compute alone; others add the
 * link's busy time, and the radio's energy (a promotion when the period outlasts the radio's tail).
 */
export function optionCoster(profile: DeviceProfile, est: LinkEstimate, periodMs: number): (base: OptionBase) => OptionCost {
  return (base) => {
    if (base.kind === 'device') {
      const e = inferenceEnergy(power(profile), { computeMs: base.deviceMs, totalMs: base.deviceMs });
      return { ...base, latencyMs: base.deviceMs, energyJ: e.totalJ };
    }
    const busyMs = expectedBusyMs({ bytesUp: base.upBytes, bytesDown: base.downBytes, serverMs: base.edgeMs }, est);
    const latencyMs = base.deviceMs + busyMs;
    const promoted = periodMs > 0 && periodMs - latencyMs > profile.radio.tailMs;
    const e = inferenceEnergy(power(profile), {
      computeMs: base.deviceMs,
      totalMs: latencyMs,
      transfer: { upBytes: base.upBytes, downBytes: base.downBytes, busyMs, promoted },
    });
    return { ...base, latencyMs, energyJ: e.totalJ };
  };
}

/** The answer encoding: the one asked for, or the smallest whose own error keeps the bar. */
export function pickEncoding(p: ModelProfile, asked: OutputEncodingName | 'auto', min: number): { name: OutputEncodingName; why: string } {
  const a = p.answers.tensors;
  const classOnly = p.outputs[0]?.kind === 'class-logits' && p.outputs.length === 1;
  if (classOnly) return { name: 'fp32', why: `answers carry a label and its confidence (${fmtBytes(p.answers.label)})` };
  const sizes = OUTPUT_ENCODINGS.map((e) => `${e} ${fmtBytes(a[e].bytes)}`).join(', ');
  if (asked !== 'auto') return { name: asked, why: `${asked} answers as asked (${sizes})` };
  const ok = OUTPUT_ENCODINGS.filter((e) => a[e].cosine >= min).sort((x, y) => a[x].bytes - a[y].bytes);
  const name = ok[0] ?? 'fp32';
  return { name, why: `${name} answers: the smallest whose own error keeps cos ≥ ${min} (${sizes}; ${name} cos ${a[name].cosine.toFixed(5)})` };
}

/** What the answers cost: the encoding, its typical and largest size, and the agreement it keeps by itself. */
export interface AnswerTerms {
  encoding: { name: OutputEncodingName; why: string };
  /** The model answers with class logits alone: a label and its confidence. */
  classOnly: boolean;
  bytes: number;
  frameBytes: number;
  agreement: Agreement;
}

/** The answer terms for `asked` (see pickEncoding). */
export function answerTerms(p: ModelProfile, asked: OutputEncodingName | 'auto', min: number): AnswerTerms {
  const encoding = pickEncoding(p, asked, min);
  const classOnly = p.outputs[0]?.kind === 'class-logits' && p.outputs.length === 1;
  return {
    encoding,
    classOnly,
    bytes: classOnly ? p.answers.label : p.answers.tensors[encoding.name].bytes,
    frameBytes: classOnly ? p.answers.label : p.answers.tensors[encoding.name].maxBytes,
    agreement: classOnly ? { top1: 1 } : { cosine: p.answers.tensors[encoding.name].cosine },
  };
}

/**
 * Every option priced, in this order: the device, the edge, then each cut at each of `rates`. A
 * cut is out when its answer would not fit the edge's frame limit or its tail computes nothing;
 * the edge is out when its answer would not fit even with a small bottleneck.
 */
export function priceOptions(
  p: ModelProfile,
  profile: DeviceProfile,
  answer: AnswerTerms,
  rates: readonly string[],
  cost: (base: OptionBase) => OptionCost,
): OptionCost[] {
  const options: OptionCost[] = [
    cost({
      option: 'device',
      kind: 'device',
      deviceMs: computeMs(profile.device, p.full.macs, p.full.ms),
      edgeMs: 0,
      upBytes: 0,
      downBytes: 0,
      agreement: answer.classOnly ? { top1: 1 } : { cosine: 1 },
    }),
    cost({
      option: 'edge',
      kind: 'edge',
      deviceMs: 0,
      edgeMs: p.full.ms,
      upBytes: requestWireBytes(p.raw.zstdBytes),
      downBytes: answer.bytes,
      agreement: answer.agreement,
    }),
  ];
  for (const c of p.cuts) {
    for (const r of rates) {
      const rc = c.rates[r];
      if (!rc) continue;
      const opt = cost({
        option: `${c.tensor} @ ${r}`,
        kind: 'split',
        cut: c.tensor,
        rate: r,
        deviceMs: computeMs(profile.device, c.headMacs, c.headMs),
        edgeMs: c.tailMs,
        upBytes: requestWireBytes(rc.bytes),
        downBytes: answer.bytes,
        featureCosine: rc.cosine,
      });
      const limit = frameLimit(c.shape, p.input.raw.shape);
      if (answer.frameBytes > limit) opt.excluded = `answer ${fmtBytes(answer.frameBytes)} > frame limit ${fmtBytes(limit)}`;
      // A tail without multiply-accumulates (a bias, a reshape) leaves all the work on the device.
      else if (c.tailMacs === 0 && p.full.macs > 0) opt.excluded = 'the tail computes nothing: this is all on the device';
      options.push(opt);
    }
  }
  const rawLimit = frameLimit([1], p.input.raw.shape);
  if (answer.frameBytes > rawLimit)
    options[1]!.excluded = `answer ${fmtBytes(answer.frameBytes)} > frame limit ${fmtBytes(rawLimit)} (with a small bottleneck)`;
  return options;
}
