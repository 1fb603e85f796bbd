/** How scores are computed from logits, the same on the device and the edge (pure). */

/** Softmax of `logits[offset .. offset + n)`, numerically stable. */
export function softmax(logits: ArrayLike<number>, offset = 0, n = logits.length - offset): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]!);
  const out = new Float32Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += out[i] = Math.exp(logits[offset + i]! - max);
  for (let i = 0; i < n; i++) out[i]! /= sum;
  return out;
}

/** Index of the largest value of `values[offset .. offset + n)` (first one on ties). */
export function argmax(values: ArrayLike<number>, offset = 0, n = values.length - offset): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}
