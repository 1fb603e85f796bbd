/**
 * `offramp recommend`: for a link and a device class, every way to run the profiled model — all
 * on the device, the raw input to the edge, or a cut at a rate point — costed both ways: device
 * compute (MACs on a modelled class, this host's measured time otherwise: head/devices.ts), the
 * request up (the codec's bytes on real activations), edge compute (measured here), the answer
 * down (the outputs through the response codec), the link (link/profiles.ts) and the device's
 * energy (head/energy.ts, the function the SDK reports with). Options whose answer would not fit
 * the edge's frame limit are out; the best ones are checked for agreement with the original on
 * real inputs (split/measure.ts) until one meets `minAgreement`.
 */
import { computeMs, deviceProfile, power, type DeviceProfile } from '../head/devices.js';
import { inferenceEnergy } from '../head/energy.js';
import { expectedBusyMs, type LinkEstimate } from '../head/policy.js';
import { wsClientOverhead } from '../head/transport.js';
import type { NamedLink } from '../link/profiles.js';
import { agreementScore, formatAgreement, type Agreement } from './agreement.js';
import { OUTPUT_ENCODINGS, type OutputEncodingName } from './answers.js';
import { product } from './data.js';
import type { ModelProfile } from './profile.js';

/** Options of {@link recommend}. */
export interface RecommendOptions {
  link: NamedLink;
  /** A device class id (head/devices.ts). */
  device: string;
  objective: 'latency' | 'energy';
  /** Tensor answers: fp32, fp16, int8, or 'auto' (the smallest whose own error keeps `minAgreement`). */
  outputEncoding?: OutputEncodingName | 'auto';
  /** Top-1 agreement (class logits) or worst cosine (tensors) an option must keep. Default 0.99. */
  minAgreement?: number;
  /** Rate point ids to consider (default: every one the profile priced). */
  rates?: string[];
  /** One inference every this many ms (0: back to back), for the radio's tail and promotions. */
  periodMs?: number;
  /** Measures a cut's agreement at its rate points on real inputs; without it, choices are unverified. */
  verify?: (cut: string, rates: string[]) => Promise<Record<string, Agreement>>;
  /** Cuts to verify at most before giving up on cuts. Default 6. */
  maxVerify?: number;
}

/** One way to run the model. */
export interface OptionCost {
  option: string;
  kind: 'device' | 'edge' | 'split';
  cut?: string;
  rate?: string;
  /** Compute on the device class, ms (modelled from MACs, or measured here). */
  deviceMs: number;
  /** Compute on the edge (this host), ms. */
  edgeMs: number;
  upBytes: number;
  downBytes: number;
  latencyMs: number;
  energyJ: number;
  /** The activation's own cosine after the codec (split options; a hint, not the output's). */
  featureCosine?: number;
  /** Measured agreement of the outputs with the original (verified options). */
  agreement?: Agreement;
  /** Why the option cannot be taken, when it cannot. */
  excluded?: string;
}

/** What {@link recommend} decides. */
export interface Recommendation {
  link: string;
  device: string;
  objective: 'latency' | 'energy';
  outputEncoding: OutputEncodingName;
  best: OptionCost;
  /** The best split option that keeps the bar (the cut to write), when one does. */
  bestSplit: OptionCost | undefined;
  /** Every option, the possible ones first, each group by the objective. */
  options: OptionCost[];
  explanation: string[];
}

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

const fmtBytes = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e4 ? `${(n / 1e3).toFixed(1)} kB` : `${Math.round(n)} B`);

/** The answer encoding: the one asked for, or the smallest whose own error keeps the bar. */
function pickEncoding(p: ModelProfile, asked: OutputEncodingName | 'auto', min: number): { name: OutputEncodingName; why: string } {
  const a = p.answers.tensors;
  const classOnly = p.outputs[0]?.kind === 'class-logits' && p.outputs.length === 1;
  if (classOnly) return { name: 'fp32', why: `answers carry a label and its confidence (${fmtBytes(p.answers.label)})` };
  const sizes = OUTPUT_ENCODINGS.map((e) => `${e} ${fmtBytes(a[e].bytes)}`).join(', ');
  if (asked !== 'auto') return { name: asked, why: `${asked} answers as asked (${sizes})` };
  const ok = OUTPUT_ENCODINGS.filter((e) => a[e].cosine >= min).sort((x, y) => a[x].bytes - a[y].bytes);
  const name = ok[0] ?? 'fp32';
  return { name, why: `${name} answers: the smallest whose own error keeps cos ≥ ${min} (${sizes}; ${name} cos ${a[name].cosine.toFixed(5)})` };
}

/** Costs every option and picks the best (see the module comment). */
export async function recommend(p: ModelProfile, o: RecommendOptions): Promise<Recommendation> {
  const min = o.minAgreement ?? 0.99;
  const periodMs = o.periodMs ?? 0;
  const profile: DeviceProfile = deviceProfile(o.device, o.link.radio, periodMs);
  const est: LinkEstimate = {
    available: true,
    rttMs: o.link.profile.up.delayMs + o.link.profile.down.delayMs,
    uplinkBps: o.link.profile.up.bps,
    downlinkBps: o.link.profile.down.bps,
  };
  const enc = pickEncoding(p, o.outputEncoding ?? 'auto', min);
  const classOnly = p.outputs[0]?.kind === 'class-logits' && p.outputs.length === 1;
  const answer = classOnly ? p.answers.label : p.answers.tensors[enc.name].bytes;
  const answerFrame = classOnly ? p.answers.label : p.answers.tensors[enc.name].maxBytes;
  const encAgreement: Agreement = classOnly ? { top1: 1 } : { cosine: p.answers.tensors[enc.name].cosine };

  const cost = (base: Omit<OptionCost, 'latencyMs' | 'energyJ'>): OptionCost => {
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
  const options: OptionCost[] = [
    cost({
      option: 'device',
      kind: 'device',
      deviceMs: computeMs(profile.device, p.full.macs, p.full.ms),
      edgeMs: 0,
      upBytes: 0,
      downBytes: 0,
      agreement: classOnly ? { top1: 1 } : { cosine: 1 },
    }),
    cost({
      option: 'edge',
      kind: 'edge',
      deviceMs: 0,
      edgeMs: p.full.ms,
      upBytes: requestWireBytes(p.raw.zstdBytes),
      downBytes: answer,
      agreement: encAgreement,
    }),
  ];
  const rates = o.rates ?? Object.keys(p.cuts[0]?.rates ?? {});
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
        downBytes: answer,
        featureCosine: rc.cosine,
      });
      const limit = frameLimit(c.shape, p.input.raw.shape);
      if (answerFrame > limit) opt.excluded = `answer ${fmtBytes(answerFrame)} > frame limit ${fmtBytes(limit)}`;
      // A tail without multiply-accumulates (a bias, a reshape) leaves all the work on the device.
      else if (c.tailMacs === 0 && p.full.macs > 0) opt.excluded = 'the tail computes nothing: this is all on the device';
      options.push(opt);
    }
  }
  const rawLimit = frameLimit([1], p.input.raw.shape);
  if (answerFrame > rawLimit) options[1]!.excluded = `answer ${fmtBytes(answerFrame)} > frame limit ${fmtBytes(rawLimit)} (with a small bottleneck)`;
  const key = (x: OptionCost): number => (o.objective === 'latency' ? x.latencyMs : x.energyJ);
  const order = (): void => {
    options.sort((a, b) => Number(a.excluded !== undefined) - Number(b.excluded !== undefined) || key(a) - key(b));
  };
  order();

  // The first possible option that keeps the bar wins; split options are verified on real
  // inputs first (each cut once, all its rate points at a time). The best split is found too:
  // a split bundle also serves full offload and local answers, and the SDK picks per request.
  const verified = new Set<string>();
  const maxVerify = o.maxVerify ?? 6;
  let best: OptionCost | undefined;
  let bestSplit: OptionCost | undefined;
  for (const x of options) {
    if (x.excluded) break;
    if (x.kind === 'split' && o.verify && !verified.has(x.cut!)) {
      if (verified.size >= maxVerify) {
        x.excluded = `not verified (${maxVerify} cuts checked)`;
        continue;
      }
      verified.add(x.cut!);
      const got = await o.verify(x.cut!, rates);
      for (const y of options) if (y.cut === x.cut && got[y.rate!]) y.agreement = got[y.rate!];
    }
    if (x.agreement && agreementScore(x.agreement) < min) {
      x.excluded = `agreement ${formatAgreement(x.agreement)} < ${min}`;
      continue;
    }
    best ??= x;
    if (x.kind === 'split') bestSplit = x;
    if (bestSplit) break;
  }
  best ??= options.find((x) => x.kind === 'device')!;
  order();

  const dev = options.find((x) => x.kind === 'device')!;
  const edge = options.find((x) => x.kind === 'edge')!;
  const fig = (x: OptionCost): string => `${x.latencyMs.toFixed(1)} ms, ${(x.energyJ * 1000).toFixed(1)} mJ`;
  const what =
    best.kind === 'device'
      ? 'run the whole model on the device'
      : best.kind === 'edge'
        ? 'send the raw input to the edge'
        : `cut at '${best.cut}' and send ${best.rate}`;
  const cls = profile.device;
  const explanation = [
    `${o.link.profile.name} (${est.uplinkBps / 1e6} Mbps up, ${est.downlinkBps / 1e6} Mbps down, RTT ${est.rttMs} ms; ${profile.radio.name} radio), ${cls.id}: ${cls.macsPerSecond ? `${(cls.macsPerSecond / 1e9).toFixed(2)} GMAC/s modelled` : 'compute measured on this host'}, ${cls.activeW} W active; objective ${o.objective}.`,
    `Answers: ${enc.why}.`,
    `Best: ${what} — ${fig(best)}` +
      (best.kind === 'device'
        ? ` (${best.deviceMs.toFixed(1)} ms of compute).`
        : `: device ${best.deviceMs.toFixed(1)} ms, ${fmtBytes(best.upBytes)} up, edge ${best.edgeMs.toFixed(1)} ms, ${fmtBytes(best.downBytes)} down${best.agreement ? `; agreement ${formatAgreement(best.agreement)}` : ''}.`),
    `Against: ${[best !== dev ? `all on the device ${fig(dev)}` : '', best !== edge ? `all on the edge ${edge.excluded ? `(out: ${edge.excluded})` : `${fig(edge)} (${fmtBytes(edge.upBytes)} up)`}` : ''].filter(Boolean).join('; ')}.`,
    `Measured on ${p.samples.source}${p.samples.real ? '' : ' — seeded noise, not real data: pass --data to profile for figures that mean something'}${o.verify ? '' : '; agreement not verified (no model file)'}.`,
  ];
  if (bestSplit && bestSplit !== best) {
    explanation.splice(
      4,
      0,
      `Best cut: '${bestSplit.cut}' at ${bestSplit.rate} — ${fig(bestSplit)} (${fmtBytes(bestSplit.upBytes)} up${bestSplit.agreement ? `, ${formatAgreement(bestSplit.agreement)}` : ''}); a bundle cut there still answers locally and by full offload, and the SDK's policy picks per request.`,
    );
  }
  return { link: o.link.profile.name, device: cls.id, objective: o.objective, outputEncoding: enc.name, best, bestSplit, options, explanation };
}

/** The options as a Markdown table (the first `top` possible ones, and the best if further down). */
export function recommendationTable(r: Recommendation, top: number): string {
  const rows = r.options.filter((x, i) => i < top || x === r.best || x === r.bestSplit);
  const lines = ['| option | device ms | up | edge ms | down | latency ms | energy mJ | agreement | note |', '|---|---|---|---|---|---|---|---|---|'];
  for (const x of rows) {
    const note =
      x === r.best
        ? '**best**'
        : x === r.bestSplit
          ? '**best cut**'
          : (x.excluded ?? (x.featureCosine !== undefined && !x.agreement ? `features cos ${x.featureCosine.toFixed(4)}` : ''));
    lines.push(
      `| ${x.option} | ${x.deviceMs.toFixed(2)} | ${fmtBytes(x.upBytes)} | ${x.edgeMs.toFixed(2)} | ${fmtBytes(x.downBytes)} | ${x.latencyMs.toFixed(1)} | ${(x.energyJ * 1000).toFixed(1)} | ${x.agreement ? formatAgreement(x.agreement) : '—'} | ${note} |`,
    );
  }
  return lines.join('\n');
}
