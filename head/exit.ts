/** Early-exit decision (pure): the max-prob rule over an exit's logits. */
import { argmax, softmax } from '../protocol/scores.js';

/** The max-prob exit rule: the exit's probabilities, label and confidence, and whether it clears `threshold`. */
export function exitDecision(
  logits: ArrayLike<number>,
  threshold: number,
  offset = 0,
  n = logits.length - offset,
): { take: boolean; label: number; confidence: number; probs: Float32Array } {
  const probs = softmax(logits, offset, n);
  const label = argmax(probs);
  const confidence = probs[label]!;
  return { take: confidence >= threshold, label, confidence, probs };
}
