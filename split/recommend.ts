/**
 * `offramp recommend`: for a link and a device class, every way to run the profiled model — all
 * on the device, the raw input to the edge, or a cut at a rate point — costed both ways: device
 * compute (MACs on a modelled class, this host's measured time otherwise: head/devices.ts), the
 * request up (the codec's bytes on real activations), edge compute (measured here), the answer
 * down (the outputs through the response codec), the link (link/profiles.ts) and the device's
 * energy (head/energy.ts, the function the SDK reports with). Options whose answer would not fit
 * the edge's frame limit are out; the best ones are checked for agreement with the original on
 * real inputs (split/measure.ts) until one meets `minAgreement`.
 *
 * The steps: pricing (option-cost.ts), ordering (`orderOptions`), choosing with verification
 * (`chooseOption`), explaining (`explainRecommendation`).
 */
import { deviceProfile, type DeviceProfile } from '../head/devices.js';
import type { LinkEstimate } from '../head/policy.js';
import type { NamedLink } from '../link/profiles.js';
import { agreementScore, formatAgreement, type Agreement } from './agreement.js';
import type { OutputEncodingName } from './answers.js';
import { answerTerms, fmtBytes, linkEstimate, optionCoster, priceOptions } from './option-cost.js';
import type { ModelProfile } from './profile.js';

export { frameLimit, requestWireBytes } from './option-cost.js';

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

/** Sorts `options` in place: the possible ones first, each group by the objective. */
export function orderOptions(options: OptionCost[], objective: 'latency' | 'energy'): void {
  const key = (x: OptionCost): number => (objective === 'latency' ? x.latencyMs : x.energyJ);
  options.sort((a, b) => Number(a.excluded !== undefined) - Number(b.excluded !== undefined) || key(a) - key(b));
}

/**
 * The router: walks the ordered options; the first possible one that keeps the bar is the best.
 * Split options are verified on real inputs first (each cut once, all its rate points at a time;
 * at most `maxVerify` cuts), and an option below the bar is marked out. The best split is found
 * too: a split bundle also serves full offload and local answers, and the SDK picks per request.
 * With no option left, the device is the best.
 */
export async function chooseOption(
  options: OptionCost[],
  o: Pick<RecommendOptions, 'verify' | 'maxVerify'>,
  rates: string[],
  min: number,
): Promise<{ best: OptionCost; bestSplit: OptionCost | undefined }> {
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
  return { best: best ?? options.find((x) => x.kind === 'device')!, bestSplit };
}

/** What a recommendation's explanation is written from. */
export interface ExplainInput {
  p: ModelProfile;
  o: RecommendOptions;
  profile: DeviceProfile;
  est: LinkEstimate;
  encodingWhy: string;
  options: OptionCost[];
  best: OptionCost;
  bestSplit: OptionCost | undefined;
}

/** The explanation in sentences: the setting, the answers, the best and what it beat, the best cut when it is not the best, where the figures came from. */
export function explainRecommendation(x: ExplainInput): string[] {
  const { p, o, profile, est, options, best, bestSplit } = x;
  const dev = options.find((y) => y.kind === 'device')!;
  const edge = options.find((y) => y.kind === 'edge')!;
  const fig = (y: OptionCost): string => `${y.latencyMs.toFixed(1)} ms, ${(y.energyJ * 1000).toFixed(1)} mJ`;
  const what =
    best.kind === 'device'
      ? 'run the whole model on the device'
      : best.kind === 'edge'
        ? 'send the raw input to the edge'
        : `cut at '${best.cut}' and send ${best.rate}`;
  const cls = profile.device;
  const explanation = [
    `${o.link.profile.name} (${est.uplinkBps / 1e6} Mbps up, ${est.downlinkBps / 1e6} Mbps down, RTT ${est.rttMs} ms; ${profile.radio.name} radio), ${cls.id}: ${cls.macsPerSecond ? `${(cls.macsPerSecond / 1e9).toFixed(2)} GMAC/s modelled` : 'compute measured on this host'}, ${cls.activeW} W active; objective ${o.objective}.`,
    `Answers: ${x.encodingWhy}.`,
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
  return explanation;
}

/** Costs every option and picks the best (see the module comment). */
export async function recommend(p: ModelProfile, o: RecommendOptions): Promise<Recommendation> {
  const min = o.minAgreement ?? 0.99;
  const periodMs = o.periodMs ?? 0;
  const profile: DeviceProfile = deviceProfile(o.device, o.link.radio, periodMs);
  const est = linkEstimate(o.link);
  const answer = answerTerms(p, o.outputEncoding ?? 'auto', min);
  const rates = o.rates ?? Object.keys(p.cuts[0]?.rates ?? {});
  const options = priceOptions(p, profile, answer, rates, optionCoster(profile, est, periodMs));
  orderOptions(options, o.objective);
  const { best, bestSplit } = await chooseOption(options, o, rates, min);
  orderOptions(options, o.objective);
  const explanation = explainRecommendation({ p, o, profile, est, encodingWhy: answer.encoding.why, options, best, bestSplit });
  return {
    link: o.link.profile.name,
    device: profile.device.id,
    objective: o.objective,
    outputEncoding: answer.encoding.name,
    best,
    bestSplit,
    options,
    explanation,
  };
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
