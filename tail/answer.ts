/**
 * Builds the Answer for one computed sample: label and confidence from class logits (softmax),
 * top-k labels and scores when asked, timings when asked, and output tensors (WANT_OUTPUTS, or
 * always for bundles whose task is not classification) in the connection's output encoding,
 * zstd-wrapped when that is smaller and the device accepted zstd.
 */
import { encodeOutput, topK, type OutputData, type OutputInfo, type OutputTerms } from '../bottleneck/outputs.js';
import { OfframpError } from '../protocol/errors.js';
import { confidenceToWire, pb, type AnswerInit } from '../protocol/messages.js';
import { softmax } from '../protocol/scores.js';

export type { OutputInfo, OutputTerms };

/** Everything an answer depends on besides the outputs. */
export interface AnswerRequest {
  id: number;
  want: number;
  topK: number;
}

/** The Answer for one sample. */
export function buildAnswer(
  req: AnswerRequest,
  outputs: readonly OutputInfo[],
  data: readonly OutputData[],
  timings: { queueUs: number; decodeUs: number; computeUs: number; batchSize: number },
  terms: OutputTerms,
): AnswerInit {
  const a: AnswerInit = { id: req.id };
  const classIndex = outputs.findIndex((o) => o.kind === 'class-logits');
  if (classIndex >= 0) {
    const logits = data[classIndex] as Float32Array;
    const p = softmax(logits);
    let label = 0;
    for (let i = 1; i < p.length; i++) if (p[i]! > p[label]!) label = i;
    if (!Number.isFinite(p[label]!)) throw new OfframpError('INTERNAL', `the class logits of ${outputs[classIndex]!.name} are not finite`);
    a.label = label;
    a.confidence = confidenceToWire(p[label]!);
    if (req.topK > 0) {
      a.topLabels = topK(p, Math.min(req.topK, p.length));
      if (req.want & pb.Want.WANT_SCORES) a.scores = a.topLabels.map((l) => p[l]!);
    } else if (req.want & pb.Want.WANT_SCORES) a.scores = Array.from(p);
  }
  if (req.want & pb.Want.WANT_TIMINGS) a.timings = timings;
  if (classIndex < 0 || req.want & pb.Want.WANT_OUTPUTS) a.outputs = outputs.map((o, i) => encodeOutput(o, data[i]!, terms));
  return a;
}
