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

/**
 * The inverse: model input back to the raw uint8 sample (rounded and clamped to 0..255), for a
 * device given an already-normalised input that must send the raw sample (full offload).
 */
export function denormalizeToUint8(x: ArrayLike<number>, input: Manifest['input']): Uint8Array {
  const { scale, mean, std } = input.normalization;
  const channels = input.shape[0]!;
  const perChannel = x.length / channels;
  const out = new Uint8Array(x.length);
  for (let c = 0, i = 0; c < channels; c++) {
    const m = mean[mean.length === 1 ? 0 : c]!;
    const s = std[std.length === 1 ? 0 : c]!;
    for (let k = 0; k < perChannel; k++, i++) out[i] = Math.max(0, Math.min(255, Math.round((x[i]! * s + m) / scale)));
  }
  return out;
}
