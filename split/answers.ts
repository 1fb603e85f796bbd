/**
 * What the edge sends back, measured on real outputs: the Answer frame each output encoding
 * (fp32, fp16, int8; zstd-wrapped where smaller, as the edge does) produces, with its WebSocket
 * header, and the error the encoding itself adds. A classification bundle answers a label and a
 * confidence (a few bytes) unless the device asks for the outputs.
 */
import { decodeOutput, encodeOutput, type OutputData } from '../bottleneck/outputs.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import { wsServerOverhead } from '../head/transport.js';
import { encodeFrame } from '../protocol/frame.js';
import { pb, type OutputTensor } from '../protocol/messages.js';
import { argmax, softmax } from '../protocol/scores.js';
import { tensorError } from './agreement.js';

/** Output encodings a device may ask for. */
export const OUTPUT_ENCODINGS = ['fp32', 'fp16', 'int8'] as const;
export type OutputEncodingName = (typeof OUTPUT_ENCODINGS)[number];
const WIRE = { fp32: pb.OutputEncoding.OUTPUT_FP32, fp16: pb.OutputEncoding.OUTPUT_FP16, int8: pb.OutputEncoding.OUTPUT_INT8 } as const;

/** One output of the model: name, kind, dtype and per-sample shape. */
export interface OutputDesc {
  name: string;
  kind: 'class-logits' | 'tensor';
  dtype: string;
  shape: number[];
}

/** Bytes down per answer (mean over samples, WebSocket header included) and the encoding's own error. */
export interface AnswerCost {
  bytes: number;
  maxBytes: number;
  /** Worst cosine and largest absolute error of the decoded outputs against the model's (1 and 0 for fp32). */
  cosine: number;
  maxAbsError: number;
}

/** Answer costs per encoding, plus the label-only answer of a classification bundle. */
export interface AnswerCosts {
  tensors: Record<OutputEncodingName, AnswerCost>;
  /** Label + confidence only (classification bundles without `outputs: true`). */
  label: number;
}

/** The frame's bytes on the socket. */
const onWire = (frame: Uint8Array): number => frame.length + wsServerOverhead(frame.length);

/** Measures the answers for `samples` (each: one array per output, in `outputs` order). */
export function answerCosts(outputs: readonly OutputDesc[], samples: readonly OutputData[][], zstd: ZstdBackend | undefined): AnswerCosts {
  const tensors = {} as Record<OutputEncodingName, AnswerCost>;
  for (const name of OUTPUT_ENCODINGS) {
    let sum = 0;
    let max = 0;
    let cosine = 1;
    let maxAbsError = 0;
    for (const s of samples) {
      const encoded = outputs.map((o, i) =>
        encodeOutput({ name: o.name, kind: o.kind, dtype: o.dtype, shape: o.shape }, s[i]!, { encoding: WIRE[name], zstd }),
      );
      const n = onWire(encodeFrame({ type: 'answer', answer: { id: 1, outputs: encoded } }));
      sum += n;
      max = Math.max(max, n);
      encoded.forEach((t, i) => {
        const back = decodeOutput({ ...t, data: t.data ?? new Uint8Array() } as OutputTensor, zstd).data;
        const e = tensorError(s[i]!, back);
        cosine = Math.min(cosine, e.cosine);
        maxAbsError = Math.max(maxAbsError, e.maxAbsError);
      });
    }
    tensors[name] = { bytes: sum / Math.max(1, samples.length), maxBytes: max, cosine, maxAbsError };
  }
  let label = 0;
  const cls = outputs.findIndex((o) => o.kind === 'class-logits');
  for (const s of samples) {
    if (cls < 0) break;
    const p = softmax(s[cls] as Float32Array);
    const l = argmax(p);
    label += onWire(encodeFrame({ type: 'answer', answer: { id: 1, label: l, confidence: Math.round(255 * p[l]!) } }));
  }
  return { tensors, label: cls < 0 ? 0 : label / Math.max(1, samples.length) };
}
