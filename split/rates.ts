/**
 * Rate points for a cut with no trained bottleneck: `u<b>` quantizes each channel (dim 0 of the
 * per-sample activation) to b bits over the range calibrated on real inputs, `f16` / `f32` send
 * floats; any of them zstd-wrapped on the wire when that is smaller. Per-tensor ranges where
 * "channels" would not mean one (rank-1 activations, or more than {@link MAX_CHANNEL_RANGES}
 * rows), so manifests stay small.
 */
import { decodeFeatures, encodeFeatures, type RatePoint } from '../bottleneck/features.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import { OfframpError } from '../protocol/errors.js';
import type { RatePointSpec } from '../protocol/manifest.js';

/** One rate point a split bundle may offer. */
export type RateChoice = { id: string; codec: 'uniform'; bits: number } | { id: string; codec: 'float16' | 'float32' };

/** The rate points `offramp split` offers unless told (`--rates`). */
export const DEFAULT_RATES = ['u8', 'u4', 'f16'] as const;
/** Every rate point `profile` prices. */
export const PROFILED_RATES = ['u8', 'u4', 'f16', 'f32'] as const;
/** Above this many rows, one range for the whole tensor. */
export const MAX_CHANNEL_RANGES = 1024;

/** Parses rate point ids (`u1`…`u8`, `f16`, `f32`). */
export function parseRates(ids: readonly string[]): RateChoice[] {
  if (!ids.length) throw new OfframpError('INVALID_ARGUMENT', '--rates needs at least one rate point (e.g. u8,u4,f16)');
  const out = ids.map((id): RateChoice => {
    const u = /^u([1-8])$/.exec(id);
    if (u) return { id, codec: 'uniform', bits: Number(u[1]) };
    if (id === 'f16') return { id, codec: 'float16' };
    if (id === 'f32') return { id, codec: 'float32' };
    throw new OfframpError('INVALID_ARGUMENT', `unknown rate point '${id}': use u1…u8 (bits per value, per-channel range), f16 or f32`);
  });
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new OfframpError('INVALID_ARGUMENT', `--rates names ${dup} twice`);
  return out;
}

/** Rows of a per-sample activation that get their own range (1: one range for the tensor). */
export function rangeRows(shape: readonly number[]): number {
  return shape.length >= 2 && shape[0]! <= MAX_CHANNEL_RANGES ? shape[0]! : 1;
}

/** Per-row min and max, widened over every sample observed. */
export class RangeTracker {
  readonly min: Float64Array;
  readonly max: Float64Array;
  constructor(readonly shape: readonly number[]) {
    const rows = rangeRows(shape);
    this.min = new Float64Array(rows).fill(Infinity);
    this.max = new Float64Array(rows).fill(-Infinity);
  }

  observe(x: ArrayLike<number>): void {
    const rows = this.min.length;
    const per = x.length / rows;
    for (let r = 0, i = 0; r < rows; r++) {
      let lo = this.min[r]!;
      let hi = this.max[r]!;
      for (const end = i + per; i < end; i++) {
        const v = x[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      this.min[r] = lo;
      this.max[r] = hi;
    }
  }

  /** The ranges as the manifest stores them: float32-exact, every max above its min. */
  ranges(): { min: number[]; max: number[] } {
    const min: number[] = [];
    const max: number[] = [];
    for (let r = 0; r < this.min.length; r++) {
      const lo = Math.fround(Number.isFinite(this.min[r]!) ? this.min[r]! : 0);
      let hi = Math.fround(Number.isFinite(this.max[r]!) ? this.max[r]! : 0);
      // A constant row (a dead ReLU channel) still needs a non-empty range.
      if (!(hi > lo)) hi = Math.fround(lo + Math.max(Math.abs(lo) * 1e-3, 1e-6));
      min.push(lo);
      max.push(hi);
    }
    return { min, max };
  }
}

/** The codec's rate point for a choice and calibrated ranges. */
export function ratePoint(c: RateChoice, ranges: { min: number[]; max: number[] }): RatePoint {
  return c.codec === 'uniform' ? { codec: 'uniform', bits: c.bits, min: ranges.min, max: ranges.max } : { codec: c.codec };
}

/** The manifest's rate point for a choice. */
export function ratePointSpec(c: RateChoice, ranges: { min: number[]; max: number[] }, extra: Pick<RatePointSpec, 'bytes'> = {}): RatePointSpec {
  return c.codec === 'uniform'
    ? { id: c.id, codec: 'uniform', bits: c.bits, min: ranges.min, max: ranges.max, ...extra }
    : { id: c.id, codec: c.codec, ...extra };
}

/** One activation through a rate point: the bytes a device sends (zstd when smaller) and what the edge decodes. */
export function roundTrip(x: Float32Array, shape: readonly number[], rp: RatePoint, zstd: ZstdBackend | undefined): { bytes: number; decoded: Float32Array } {
  const enc = encodeFeatures(x, shape, rp, { zstd });
  return { bytes: enc.payload.length, decoded: decodeFeatures(enc.payload, enc.zstd, shape, rp, { zstd }) };
}
