/** Deterministic pseudo-random uint8 samples (xorshift32), for models without a dataset. */
export function seededSamples(size: number, count: number, seed = 0x2545f491): Uint8Array[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: count }, () =>
    Uint8Array.from({ length: size }, () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) & 0xff;
    }),
  );
}
