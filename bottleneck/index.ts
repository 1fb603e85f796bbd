/**
 * offramp/bottleneck — the feature codec shared by the device and the edge.
 *
 * @example
 * ```ts
 * import { encodeFeatures, decodeFeatures, loadZstdWasm } from 'offramp/bottleneck';
 * const zstd = await loadZstdWasm();
 * const { bytes, meta } = encodeFeatures(features, { shape: [1, 2, 7, 7], bits: 4, range: { min: 0, max: 1 } }, zstd);
 * const restored = decodeFeatures(bytes, meta, { zstd });
 * ```
 */
export { encodeFeatures, encodeRawSample, decodeFeatures, type EncodeSpec, type EncodedFeatures, type DecodeOptions } from './codec.js';
export { packBits, unpackBits } from './bitpack.js';
export { encodeFloat16, decodeFloat16, toHalfBits, fromHalfBits } from './float16.js';
export { affineParams, quantize, dequantize, observedRange, type QuantRange } from './quantize.js';
export { loadZstd, loadZstdWasm, loadZstdNative, zstdContentSize, checkZstdFrame, type ZstdBackend } from './zstd.js';
