/** zstd-codec ships no types; bottleneck/zstd.ts describes the slice it uses. */
declare module 'zstd-codec';
