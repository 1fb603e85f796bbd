/** Raw samples to model input and back, following a bundle manifest's input description (pure). */
import type { Manifest } from './manifest.js';

type Input = Manifest['input'];

/** Channel count and whether raw HWC values must be transposed into the model's NCHW order. */
function plan(input: Input): { channels: number; transpose: boolean; channelLast: boolean } {
  const channelLast = input.layout === 'NHWC';
  // Channels: the last dim for NHWC, the first for everything else (NCHW, NC, other).
  const channels = channelLast ? input.shape[input.shape.length - 1]! : input.shape[0]!;
  const transpose = input.raw.layout === 'HWC' && input.layout === 'NCHW' && channels > 1;
  return { channels, transpose, channelLast: channelLast || (input.raw.layout === 'HWC' && input.layout !== 'NCHW') };
}

/**
 * Writes the model input for one raw sample into `out` at `offset`: (raw · scale − mean[c]) /
 * std[c], c the channel, reordering HWC raw samples into NCHW when the model takes NCHW.
 * `raw` may be `out` itself when no reordering is needed (in place).
 */
export function normalizeInto(raw: ArrayLike<number>, input: Input, out: Float32Array, offset = 0): Float32Array {
  const { scale, mean, std } = input.normalization;
  const { channels, transpose, channelLast } = plan(input);
  const per = raw.length / channels;
  const m = (c: number): number => mean[mean.length === 1 ? 0 : c]!;
  const s = (c: number): number => std[std.length === 1 ? 0 : c]!;
  if (transpose) {
    for (let c = 0; c < channels; c++) for (let k = 0; k < per; k++) out[offset + c * per + k] = (raw[k * channels + c]! * scale - m(c)) / s(c);
  } else if (channelLast) {
    for (let i = 0; i < raw.length; i++) out[offset + i] = (raw[i]! * scale - m(i % channels)) / s(i % channels);
  } else {
    for (let c = 0, i = 0; c < channels; c++) {
      const mc = m(c);
      const sc = s(c);
      for (let k = 0; k < per; k++, i++) out[offset + i] = (raw[i]! * scale - mc) / sc;
    }
  }
  return out;
}

/**
 * The inverse: model input back to the raw sample (uint8 raw samples rounded and clamped to
 * 0..255), for a device given an already-normalised input that must send the raw sample.
 */
export function denormalize(x: ArrayLike<number>, input: Input): Uint8Array | Float32Array {
  const { scale, mean, std } = input.normalization;
  const { channels, transpose, channelLast } = plan(input);
  const per = x.length / channels;
  const out = input.raw.dtype === 'uint8' ? new Uint8Array(x.length) : new Float32Array(x.length);
  const round = out instanceof Uint8Array;
  for (let i = 0; i < x.length; i++) {
    const c = transpose ? Math.floor(i / per) : channelLast ? i % channels : Math.floor(i / per);
    const v = (x[i]! * std[std.length === 1 ? 0 : c]! + mean[mean.length === 1 ? 0 : c]!) / scale;
    const j = transpose ? (i % per) * channels + c : i;
    out[j] = round ? Math.max(0, Math.min(255, Math.round(v))) : v;
  }
  return out;
}
