/**
 * offramp/bottleneck — the codecs both sides share: bottleneck features at a rate point (entropy
 * coding with the bundle's learned tables, uniform quantization, float16/32), raw inputs for full
 * offload, output tensors in answers, and zstd.
 *
 * @example
 * ```ts
 * import { encodeFeatures, decodeFeatures } from 'offramp/bottleneck';
 * const rp = { codec: 'uniform', bits: 4, min: [0], max: [1] } as const;
 * const { payload, zstd } = encodeFeatures(features, [2, 7, 7], rp);
 * const restored = decodeFeatures(payload, zstd, [2, 7, 7], rp);
 * ```
 */
export {
  encodeFeatures,
  decodeFeatures,
  maxPayloadBytes,
  ratePointProblem,
  entropySymbols,
  uniformParams,
  elementCount,
  type RatePoint,
  type EncodedPayload,
  type EncodeOptions,
  type DecodeOptions,
} from './features.js';
export { encodeInput, decodeInput, maxInputBytes, inputEncodingProblem, type InputEncoding, type InputCodecOptions } from './input.js';
export { encodeOutput, decodeOutput, topK, type OutputData, type OutputInfo, type OutputTerms, type DecodedOutput } from './outputs.js';
export { rangeEncode, rangeDecode, maxEncodedBytes, tableProblem, CDF_PRECISION, type CdfTable } from './range-coder.js';
export { resolveRatePoint, resolveRatePoints, cdfTables } from './rate-points.js';
export { packBits, unpackBits } from './bitpack.js';
export { encodeFloat16, decodeFloat16, toHalfBits, fromHalfBits } from './float16.js';
export { affineParams, quantize, dequantize, observedRange, type QuantRange } from './quantize.js';
export { loadZstdWasm, zstdContentSize, checkZstdFrame, type ZstdBackend } from './zstd.js';
