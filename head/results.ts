/**
 * The result builder: one InferResult per path (exit, local or fallback, edge) from what the path
 * measured. Timings are on the profile's device: a modelled class (one with a throughput) adds
 * its modelled parts up, a measured one reads the clock. Energy is head/energy.ts's
 * inferenceEnergy, the function the policy predicts with. Label fields come from probabilities
 * on the device or from the edge's answer; output tensors as the app asked for them.
 */
import { decodeOutput, topK as topLabels, type DecodedOutput } from '../bottleneck/outputs.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import type { Manifest } from '../protocol/manifest.js';
import { confidenceFromWire, type Answer } from '../protocol/messages.js';
import { argmax, softmax } from '../protocol/scores.js';
import type { Float32Tensor } from './backend.js';
import type { InferOptions, InferResult } from './device-types.js';
import { power, type DeviceProfile } from './devices.js';
import { inferenceEnergy } from './energy.js';
import type { FailureReason, RequestOutcome } from './transport.js';

/** The label fields of a result. */
export type ClassFields = Pick<InferResult, 'label' | 'labelName' | 'confidence' | 'scores' | 'topK'>;

/** A transfer to the edge: wire bytes each way, busy ms (request sent to answer or failure), whether the radio was promoted. */
export interface TransferDone {
  up: number;
  down: number;
  busyMs: number;
  promoted: boolean;
}

/** What ran before the answer: the head (0 when skipped) on the profile's device and measured here, the encoding, when the call began. */
export interface Before {
  headMs: number;
  headMeasured: number;
  encodeMs?: number;
  t0: number;
}

/** The local model's run, and, for a fallback, why and what had been tried. */
export interface LocalRun {
  out: Record<string, Float32Tensor>;
  /** On the profile's device, and measured here. */
  localMs: number;
  localMeasured: number;
  fallback?: { reason: FailureReason; ratePoint: string; payloadBytes?: number; bytesUp?: number };
  transfer?: TransferDone;
}

/** An answered send. */
export type Answered = Extract<RequestOutcome, { ok: true }>;

export function zeroTimings(): InferResult['timings'] {
  return { head: 0, encode: 0, network: 0, server: { queue: 0, decode: 0, compute: 0 }, local: 0, total: 0 };
}

/** The server's time in an answer, ms per stage, and in all (undefined when the answer carries no timings). */
export function serverTimings(a: Answer): { server: InferResult['timings']['server']; serverMs: number | undefined } {
  const srv = a.timings;
  const server = { queue: (srv?.queueUs ?? 0) / 1000, decode: (srv?.decodeUs ?? 0) / 1000, compute: (srv?.computeUs ?? 0) / 1000 };
  return { server, serverMs: srv ? server.queue + server.decode + server.compute : undefined };
}

/** The figures a result's energy was computed with, in words. */
export function describeModel(p: DeviceProfile): string {
  const d = p.device;
  return `${d.name} (${d.macsPerSecond ? `${d.macsPerSecond / 1e9} GMAC/s modelled` : 'compute measured'}, ${d.activeW} W active, ${d.idleW} W idle) on ${p.radio.name} (${p.radio.source}), one inference every ${p.periodMs || '—'} ms`;
}

/** Builds results for one device: its bundle, its profile, its zstd (for output tensors). */
export class ResultBuilder {
  private readonly isClassifier: boolean;
  private readonly classOutput: string | undefined;
  private readonly model: string;

  constructor(
    private readonly m: Manifest,
    private readonly profile: DeviceProfile,
    private readonly zstd: ZstdBackend | undefined,
    /** The clock (tests pin it). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.isClassifier = m.task === 'classification';
    this.classOutput = m.outputs.find((o) => o.kind === 'class-logits')?.name;
    this.model = describeModel(profile);
  }

  /**
   * Energy on the profile's device: compute for `computeMs`, plus the transfer's; the inference's
   * time is its compute plus the transfer's busy time, as the policy counts it.
   */
  energy(computeMs: number, transfer?: TransferDone): InferResult['energy'] {
    return {
      ...inferenceEnergy(power(this.profile), {
        computeMs,
        totalMs: computeMs + (transfer?.busyMs ?? 0),
        ...(transfer ? { transfer: { upBytes: transfer.up, downBytes: transfer.down, busyMs: transfer.busyMs, promoted: transfer.promoted } } : {}),
      }),
      model: this.model,
    };
  }

  /** A classifier's label fields from probabilities: every score, and the top k when asked. */
  fromProbs(p: ArrayLike<number>, o: InferOptions): ClassFields {
    const label = argmax(p);
    return {
      label,
      labelName: this.m.labels[label],
      confidence: p[label]!,
      scores: Array.from(p),
      ...(o.topK ? { topK: topLabels(p, Math.min(o.topK, p.length)).map((l) => ({ label: l, score: p[l]! })) } : {}),
    };
  }

  /** The label fields of the edge's answer (label -1 for tensor bundles). */
  fromAnswer(a: Answer, o: InferOptions): ClassFields {
    if (!this.isClassifier) return { label: -1, labelName: undefined, confidence: 0 };
    const cls: ClassFields = { label: a.label, labelName: this.m.labels[a.label], confidence: confidenceFromWire(a.confidence) };
    if (a.topLabels.length) cls.topK = a.topLabels.map((l, i) => ({ label: l, score: a.scores[i] ?? 0 }));
    else if (a.scores.length) {
      cls.scores = [...a.scores];
      // Every score came: the top k are read from them (the wire carries scores of all labels or of the top k, not both).
      if (o.topK) cls.topK = topLabels(a.scores, Math.min(o.topK, a.scores.length)).map((l) => ({ label: l, score: a.scores[l]! }));
    }
    return cls;
  }

  /** Total ms on the profile's device: `modelledMs` on a modelled class, the call's wall time on a measured one. */
  private total(modelledMs: number, t0: number): number {
    return this.profile.device.macsPerSecond ? modelledMs : this.now() - t0;
  }

  /** An answer from exit `exit` with its probabilities. */
  exit(probs: Float32Array, exit: number, o: InferOptions, b: Before): InferResult {
    const timings = { ...zeroTimings(), head: b.headMs, total: this.total(b.headMs, b.t0) };
    return {
      ...this.fromProbs(probs, o),
      timings,
      path: `exit:${exit}`,
      payloadBytes: 0,
      bytesUp: 0,
      bytesDown: 0,
      energy: this.energy(b.headMs),
      measured: { head: b.headMeasured, encode: 0, busy: 0, local: 0, wall: this.now() - b.t0 },
    };
  }

  /** An answer from the local full model (path 'local', or 'fallback' with the reason). */
  local(path: 'local' | 'fallback', o: InferOptions, b: Before, r: LocalRun): InferResult {
    const encodeMs = b.encodeMs ?? 0;
    const tr = r.transfer;
    const timings = { ...zeroTimings(), head: b.headMs, encode: encodeMs, local: r.localMs };
    timings.total = this.total(timings.head + timings.encode + (tr?.busyMs ?? 0) + r.localMs, b.t0);
    const outputs: Record<string, DecodedOutput> = {};
    for (const spec of this.m.outputs) outputs[spec.name] = { data: r.out[spec.name]!.data, dims: r.out[spec.name]!.dims.slice(1) };
    const cls = this.classOutput ? this.fromProbs(softmax(r.out[this.classOutput]!.data), o) : { label: -1, labelName: undefined, confidence: 0 };
    return {
      payloadBytes: 0,
      bytesUp: 0,
      ...r.fallback,
      bytesDown: tr?.down ?? 0,
      ...cls,
      ...(!this.isClassifier || o.outputs ? { outputs } : {}),
      timings,
      path,
      energy: this.energy(b.headMs + encodeMs + r.localMs, tr),
      measured: { head: b.headMeasured, encode: encodeMs, busy: tr?.busyMs ?? 0, local: r.localMeasured, wall: this.now() - b.t0 },
    };
  }

  /** The edge's answer to a request that carried `payloadBytes` at `ratePoint` ('input' for full offload). */
  edge(o: Answered, ratePoint: string, payloadBytes: number, opts: InferOptions, b: Before & { encodeMs: number; promoted: boolean }): InferResult {
    const a = o.answer;
    const { server, serverMs } = serverTimings(a);
    const timings = { ...zeroTimings(), head: b.headMs, encode: b.encodeMs, network: o.ms - (serverMs ?? 0), server };
    timings.total = this.total(b.headMs + b.encodeMs + o.ms, b.t0);
    const outputs: Record<string, DecodedOutput> = {};
    for (const t of a.outputs) outputs[t.name] = decodeOutput(t, this.zstd);
    return {
      ...this.fromAnswer(a, opts),
      ...(a.outputs.length ? { outputs } : {}),
      path: 'edge',
      ratePoint,
      payloadBytes,
      bytesUp: o.bytesUp,
      bytesDown: o.bytesDown,
      timings,
      energy: this.energy(b.headMs + b.encodeMs, { up: o.bytesUp, down: o.bytesDown, busyMs: o.ms, promoted: b.promoted }),
      measured: { head: b.headMeasured, encode: b.encodeMs, busy: o.ms, local: 0, wall: this.now() - b.t0 },
    };
  }
}
