/** Raw samples to model input, following a bundle manifest's normalisation (pure). */
import type { Manifest } from './manifest.js';

/**
 * Writes `(raw · scale − mean[c]) / std[c]` for one sample into `out` at `offset` (channel-major,
 * as NCHW lays it out) and returns `out`. `raw` may be `out` itself (in place).
 */
export function normalizeInto(raw: ArrayLike<number>, input: Manifest['input'], out: Float32Array, offset = 0): Float32Array {
  const { scale, mean, std } = input.normalization;
  const channels = input.shape[0]!;
  const perChannel = raw.length / channels;
  for (let c = 0, i = 0; c < channels; c++) {
    const m = mean[mean.length === 1 ? 0 : c]!;
    const s = std[std.length === 1 ? 0 : c]!;
    for (let k = 0; k < perChannel; k++, i++) out[offset + i] = (raw[i]! * scale - m) / s;
  }
  return out;
}
