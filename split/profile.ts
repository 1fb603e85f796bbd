/**
 * `offramp profile` and `offramp recommend`: every single-tensor cut of an ONNX model (its
 * articulation points, in topological order) timed on this host — head and tail — with the
 * activation's size raw and after the codec at 8 and 4 bits; then, for a link and a device, the
 * cut (or all on the device, or all on the edge) with the lowest expected latency or energy,
 * using the same cost model as the device SDK's policy (head/policy.ts) and the bench's link and
 * device profiles.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeFeatures, encodeRawSample } from '../bottleneck/codec.js';
import { loadZstd } from '../bottleneck/zstd.js';
import type { NamedDevice } from '../bench/devices.js';
import { configuredLink } from '../bench/link/fidelity.js';
import type { NamedLink } from '../bench/link/profiles.js';
import { percentile } from '../bench/stats.js';
import { localCost, offloadCost, RADIOS, type DeviceProfile, type LinkEstimate } from '../head/policy.js';
import { OfframpError } from '../protocol/errors.js';
import { calibrationSamples } from './bundle.js';
import { candidateCuts, cutModel, declaredDims, graphIndex, readModel, setFloatType, writeModel } from './graph.js';

export interface CutProfile {
  tensor: string;
  shape: number[];
  headMs: number;
  tailMs: number;
  rawBytes: number;
  /** Payload after the codec (quantized to the sample's range, zstd when it helps), mean over samples. */
  bytes8: number;
  bytes4: number;
}

export interface ModelProfile {
  model: string;
  input: { name: string; shape: number[]; rawBytes: number; rawZstdBytes: number };
  fullMs: number;
  classes: number;
  runs: number;
  cuts: CutProfile[];
}

const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

async function timeRuns(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>[], runs: number): Promise<{ ms: number; out: ort.InferenceSession.ReturnType[] }> {
  const out = [];
  for (const f of feeds) out.push(await s.run(f)); // warm-up, and the outputs
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await s.run(feeds[i % feeds.length]!);
    times.push(performance.now() - t0);
  }
  return { ms: median(times), out };
}

/** Profiles every candidate cut of the model at `path`. */
export async function profileModel(path: string, opts: { runs?: number; samples?: number; data?: string; onCut?: (done: number, total: number) => void } = {}): Promise<ModelProfile> {
  const bytes = await readFile(path);
  const model = readModel(bytes);
  const index = graphIndex(model);
  if (index.inputs.length !== 1 || index.outputs.length !== 1) throw new OfframpError('MODEL_INVALID', `profile takes models with one input and one output; this one has ${index.inputs.length} and ${index.outputs.length}`);
  const inName = index.inputs[0]!;
  const dims = declaredDims(model.graph!.input!.find((v) => v.name === inName));
  if (!dims || dims.slice(1).some((d) => typeof d !== 'number')) throw new OfframpError('MODEL_INVALID', `input '${inName}' needs fixed per-sample dims, got [${(dims ?? []).join(', ')}]`);
  const shape = dims.slice(1) as number[];
  const size = shape.reduce((a, b) => a * b, 1);
  const runs = opts.runs ?? 20;
  const raw = await calibrationSamples(size, opts.samples ?? 4, opts.data);
  const feeds = raw.map((r) => ({ [inName]: new ort.Tensor('float32', Float32Array.from(r, (v) => v / 255), [1, ...shape]) }));
  const zstd = await loadZstd();
  const open = (b: Uint8Array): Promise<ort.InferenceSession> => ort.InferenceSession.create(b, { graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  const full = await open(bytes);
  const fullRun = await timeRuns(full, feeds, runs);
  await full.release();
  const classes = Number((fullRun.out[0]![index.outputs[0]!]!.data as Float32Array).length);
  const cuts: CutProfile[] = [];
  const tensors = candidateCuts(model);
  for (const [i, t] of tensors.entries()) {
    const cut = cutModel(model, [t]);
    const head = await open(writeModel(cut.head));
    const h = await timeRuns(head, feeds, runs);
    await head.release();
    const acts = h.out.map((o) => o[t]!);
    const actShape = acts[0]!.dims.slice(1).map(Number);
    setFloatType(cut.tail.graph!.input![0]!, ['N', ...actShape]);
    const tail = await open(writeModel(cut.tail));
    const tl = await timeRuns(tail, acts.map((a) => ({ [t]: a })), runs);
    await tail.release();
    const coded = (b: number): number => acts.reduce((s, a) => s + encodeFeatures(a.data as Float32Array, { shape: [1, ...actShape], bits: b }, zstd).bytes.length, 0) / acts.length;
    cuts.push({ tensor: t, shape: actShape, headMs: h.ms, tailMs: tl.ms, rawBytes: 4 * actShape.reduce((a, b) => a * b, 1), bytes8: coded(8), bytes4: coded(4) });
    opts.onCut?.(i + 1, tensors.length);
  }
  const rawZstdBytes = raw.reduce((s, r) => s + encodeRawSample(r, [1, ...shape], zstd).bytes.length, 0) / raw.length;
  return { model: basename(path), input: { name: inName, shape, rawBytes: size, rawZstdBytes }, fullMs: fullRun.ms, classes, runs, cuts };
}

export interface Option {
  /** 'device' (all on the device), 'edge' (raw input to the edge) or a cut tensor at a bit width. */
  option: string;
  computeMs: number;
  bytesUp: number;
  latencyMs: number;
  energyJ: number;
}

export interface Recommendation {
  link: string;
  device: string;
  objective: 'latency' | 'energy';
  best: Option;
  options: Option[];
  explanation: string;
}

/** Ranks all-on-device, all-on-edge and every cut at 8 and 4 bits for `link` and `device`. */
export function recommend(p: ModelProfile, link: NamedLink, device: NamedDevice, objective: 'latency' | 'energy'): Recommendation {
  const est: LinkEstimate = { available: true, rttMs: configuredLink(link.profile).rttMs, uplinkBps: link.profile.up.bps, downlinkBps: link.profile.down.bps };
  const profile: DeviceProfile = { name: device.name, computePowerW: device.computePowerW, radio: RADIOS[link.radio], computeSlowdown: device.slowdown };
  const responseBytes = p.classes * 5 + 32;
  const FRAME = 64; // protocol + WebSocket framing per request, as the SDK's policy assumes
  const offload = (name: string, headMs: number, bytes: number, serverMs: number): Option => {
    const c = offloadCost(0, { localMs: 0, serverMs, requestBytes: { 0: bytes + FRAME }, responseBytes }, est, profile, 0);
    const computeMs = headMs * device.slowdown;
    return { option: name, computeMs, bytesUp: bytes + FRAME, latencyMs: computeMs + c.latencyMs, energyJ: (device.computePowerW * computeMs) / 1000 + c.energyJ };
  };
  const local = localCost({ localMs: p.fullMs * device.slowdown, serverMs: 0, requestBytes: {}, responseBytes: 0 }, profile, 0);
  const options: Option[] = [
    { option: 'device', computeMs: p.fullMs * device.slowdown, bytesUp: 0, latencyMs: local.latencyMs, energyJ: local.energyJ },
    offload('edge', 0, p.input.rawZstdBytes, p.fullMs),
    ...p.cuts.flatMap((c) => [offload(`${c.tensor} @8`, c.headMs, c.bytes8, c.tailMs), offload(`${c.tensor} @4`, c.headMs, c.bytes4, c.tailMs)]),
  ];
  const key = (o: Option): number => (objective === 'latency' ? o.latencyMs : o.energyJ);
  options.sort((a, b) => key(a) - key(b));
  const best = options[0]!;
  const dev = options.find((o) => o.option === 'device')!;
  const edge = options.find((o) => o.option === 'edge')!;
  const fmt = (o: Option): string => (objective === 'latency' ? `${o.latencyMs.toFixed(1)} ms` : `${(o.energyJ * 1000).toFixed(1)} mJ`);
  const what = best.option === 'device' ? 'run everything on the device' : best.option === 'edge' ? 'send the raw input to the edge' : `cut at ${best.option} bits`;
  const explanation = `${link.profile.name} (${est.uplinkBps / 1e6} Mbps up, RTT ${est.rttMs} ms), ${device.name} (compute × ${device.slowdown}${device.slowdown === 1 ? ', measured' : ', modelled'}): ${what} — ${fmt(best)} (device compute ${best.computeMs.toFixed(1)} ms, ${best.bytesUp.toFixed(0)} B up) vs all on the device ${fmt(dev)}, all on the edge ${fmt(edge)}.`;
  return { link: link.profile.name, device: device.name, objective, best, options, explanation };
}

/** The profile as a Markdown table. */
export function profileMarkdown(p: ModelProfile): string {
  const lines = [`# Profile of ${p.model}`, '', `Input '${p.input.name}' [${p.input.shape.join(', ')}]: ${p.input.rawBytes} B raw uint8 (${p.input.rawZstdBytes.toFixed(0)} B with zstd). Whole model on this host: ${p.fullMs.toFixed(3)} ms (median of ${p.runs}).`, '', '| # | cut tensor | shape | head ms | tail ms | raw B | 8-bit B | 4-bit B |', '|---|---|---|---|---|---|---|---|'];
  p.cuts.forEach((c, i) => lines.push(`| ${i} | \`${c.tensor}\` | ${c.shape.join('×')} | ${c.headMs.toFixed(3)} | ${c.tailMs.toFixed(3)} | ${c.rawBytes} | ${c.bytes8.toFixed(0)} | ${c.bytes4.toFixed(0)} |`));
  return lines.join('\n') + '\n';
}
