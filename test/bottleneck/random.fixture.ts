/**
 * Deterministic randomness for the codec tests: a seeded generator, CDF tables built like the
 * trainer's quantize_pmf (every symbol at least 1 of 2^16, the rounding rest on the likeliest
 * symbol) and symbols drawn from them.
 */
import type { CdfTable } from '../../bottleneck/index.js';

export const TOTAL = 65536;

/** mulberry32: uniform floats in [0, 1) from a 32-bit seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** An integer in [lo, hi]. */
export const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Integer frequencies >= 1 summing to 2^16, proportional to `weights`, as a CDF. */
export function cdfFromWeights(weights: readonly number[]): Uint32Array {
  const n = weights.length;
  const sum = weights.reduce((a, b) => a + b, 0);
  const freq = weights.map((w) => 1 + Math.floor((w / sum) * (TOTAL - n)));
  let top = 0;
  freq.forEach((f, i) => {
    if (f > freq[top]!) top = i;
  });
  freq[top]! += TOTAL - freq.reduce((a, b) => a + b, 0);
  const cdf = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) cdf[i + 1] = cdf[i]! + freq[i]!;
  return cdf;
}

export type TableKind = 'flat' | 'random' | 'laplace' | 'peaked' | 'certain';

/** A random table of one of the shapes a learned prior produces. */
export function randomTable(r: () => number, kind: TableKind = (['flat', 'random', 'laplace', 'peaked'] as const)[int(r, 0, 3)]!): CdfTable {
  const offset = int(r, -40, 10);
  if (kind === 'certain') return { offset, cdf: Uint32Array.from([0, TOTAL]) };
  const n = kind === 'flat' ? int(r, 2, 300) : int(r, 2, 60);
  const centre = r() * n;
  const width = 0.2 + r() * 3;
  const weights = Array.from({ length: n }, (_, i) => {
    switch (kind) {
      case 'flat':
        return 1;
      case 'random':
        return r();
      case 'laplace':
        return Math.exp(-Math.abs(i - centre) / width);
      case 'peaked':
        return i === Math.floor(centre) ? 1 : 1e-9;
    }
  });
  return { offset, cdf: cdfFromWeights(weights) };
}

/** A symbol of `t` drawn from its own distribution. */
export function drawSymbol(r: () => number, t: CdfTable): number {
  const u = Math.floor(r() * TOTAL);
  let j = 0;
  while (t.cdf[j + 1]! <= u) j++;
  return t.offset + j;
}

/** A symbol of `t` drawn uniformly over its support (rare symbols as often as likely ones). */
export function anySymbol(r: () => number, t: CdfTable): number {
  return t.offset + int(r, 0, t.cdf.length - 2);
}

/** Channel-major symbols, `per` of each table's. */
export function drawSymbols(r: () => number, tables: readonly CdfTable[], per: number, draw = drawSymbol): number[] {
  return tables.flatMap((t) => Array.from({ length: per }, () => draw(r, t)));
}

/** Ideal code length of channel-major symbols, bits: the sum of -log2(frequency / 2^16). */
export function idealBits(symbols: readonly number[], tables: readonly CdfTable[], per: number): number {
  let bits = 0;
  symbols.forEach((s, i) => {
    const t = tables[Math.floor(i / per)]!;
    const j = s - t.offset;
    bits -= Math.log2((t.cdf[j + 1]! - t.cdf[j]!) / TOTAL);
  });
  return bits;
}

/** Deterministic pseudo-random float32 values in [lo, hi). */
export function randomFloats(n: number, seed: number, lo = -3, hi = 5): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + r() * (hi - lo));
}
