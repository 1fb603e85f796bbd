/**
 * Field-by-field validation of protocol messages. Runs after every decode and before every
 * encode, so both sides hold each other to the same rules. Throws {@link OfframpError}.
 */
import { OfframpError, type ErrorCode } from './errors.js';
import type { FrameLimits } from './limits.js';
import {
  BIT_WIDTHS,
  packedByteLength,
  type BundleRef,
  type Hello,
  type HelloAck,
  type InferRequest,
  type InferResponse,
  type Message,
  type ErrorMessage,
  type TensorEncoding,
} from './messages.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const MAX_LIST = 16;
const UINT32_MAX = 0xffffffff;

function fail(code: ErrorCode, message: string, requestId?: string): never {
  throw new OfframpError(code, message, requestId === undefined ? {} : { requestId });
}

function checkText(value: string, field: string, max: number, required: boolean, id?: string): void {
  if (required && value.length === 0) fail('BAD_REQUEST', `${field} is required`, id);
  if (value.length > max) fail('BAD_REQUEST', `${field} is longer than ${max} characters`, id);
}

function checkUint(value: number, field: string, id?: string): void {
  if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
    fail('BAD_REQUEST', `${field} must be an integer in [0, ${UINT32_MAX}], got ${value}`, id);
  }
}

function checkBitWidth(bits: number, field: string, id?: string): void {
  if (!BIT_WIDTHS.includes(bits)) {
    fail('BAD_REQUEST', `${field} must be 1..8, 16 or 32, got ${bits}`, id);
  }
}

function checkBundleRef(ref: BundleRef, limits: FrameLimits): void {
  checkText(ref.id, 'bundle.id', limits.maxIdLength, true);
  checkText(ref.version, 'bundle.version', limits.maxIdLength, true);
  if (!SHA256_HEX.test(ref.manifestSha256)) {
    fail('BAD_REQUEST', 'bundle.manifest_sha256 must be 64 lower-case hex characters');
  }
}

function checkCapabilities(codecs: readonly string[], bitWidths: readonly number[]): void {
  if (codecs.length > MAX_LIST) fail('BAD_REQUEST', `codecs lists more than ${MAX_LIST} entries`);
  if (bitWidths.length > MAX_LIST) fail('BAD_REQUEST', `bit_widths lists more than ${MAX_LIST} entries`);
  for (const b of bitWidths) checkBitWidth(b, 'bit_widths entry');
}

function validateHello(m: Hello, limits: FrameLimits): void {
  if (!Number.isInteger(m.protocolVersion) || m.protocolVersion < 1) {
    fail('BAD_REQUEST', 'protocol_version is required');
  }
  checkText(m.clientName, 'client_name', limits.maxIdLength, false);
  checkText(m.clientVersion, 'client_version', limits.maxIdLength, false);
  checkBundleRef(m.bundle, limits);
  checkCapabilities(m.codecs, m.bitWidths);
  checkText(m.authToken, 'auth_token', limits.maxTextLength, false);
  checkText(m.deviceId, 'device_id', limits.maxIdLength, false);
}

function validateHelloAck(m: HelloAck, limits: FrameLimits): void {
  if (!Number.isInteger(m.protocolVersion) || m.protocolVersion < 1) {
    fail('BAD_REQUEST', 'protocol_version is required');
  }
  checkBundleRef(m.bundle, limits);
  checkCapabilities(m.codecs, m.bitWidths);
  for (const k of ['maxFrameBytes', 'maxInFlight', 'maxBatch'] as const) {
    const v = m.limits[k];
    checkUint(v, `limits.${k}`);
    if (v === 0) fail('BAD_REQUEST', `limits.${k} must be positive`);
  }
  checkText(m.serverId, 'server_id', limits.maxIdLength, false);
}

/** Element count of `shape` after checking rank and dims against `limits`. */
export function checkShape(shape: readonly number[], limits: FrameLimits, id?: string): number {
  if (shape.length === 0 || shape.length > limits.maxRank) {
    fail('BAD_REQUEST', `tensor rank must be 1..${limits.maxRank}, got ${shape.length}`, id);
  }
  let elements = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 1) fail('BAD_REQUEST', `tensor dims must be positive integers, got ${d}`, id);
    elements *= d;
    if (elements > limits.maxElements) {
      fail('TOO_LARGE', `tensor [${shape.join(', ')}] exceeds the limit of ${limits.maxElements} elements`, id);
    }
  }
  return elements;
}

/** Checks a tensor encoding's internal consistency; returns the element count. */
export function checkEncoding(e: TensorEncoding, limits: FrameLimits, id?: string): number {
  const elements = checkShape(e.shape, limits, id);
  checkBitWidth(e.bits, 'quantization.bits', id);
  if (e.bits > 8) {
    if (e.scale.length !== 0 || e.zeroPoint.length !== 0 || e.axis !== 0) {
      fail('BAD_REQUEST', `float${e.bits} tensors carry no scale, zero point or axis`, id);
    }
  } else {
    if (!Number.isInteger(e.axis) || e.axis < 0 || e.axis >= e.shape.length) {
      fail('BAD_REQUEST', `quantization.axis ${e.axis} is outside the tensor's ${e.shape.length} dims`, id);
    }
    const channels = e.shape[e.axis] ?? 0;
    const n = e.scale.length;
    if (n !== 1 && n !== channels) {
      fail('SHAPE_MISMATCH', `quantization.scale has ${n} entries; expected ${channels === 1 ? '1' : `1 or ${channels}`} (dim ${e.axis})`, id);
    }
    if (e.zeroPoint.length !== n) {
      fail('SHAPE_MISMATCH', `quantization.zero_point has ${e.zeroPoint.length} entries; expected ${n}`, id);
    }
    for (const s of e.scale) {
      if (!Number.isFinite(s) || s <= 0) fail('BAD_REQUEST', `quantization.scale must be finite and positive, got ${s}`, id);
    }
    const levels = (1 << e.bits) - 1;
    for (let c = 0; c < n; c++) {
      const z = e.zeroPoint[c]!;
      if (!Number.isFinite(z)) fail('BAD_REQUEST', `quantization.zero_point must be finite, got ${z}`, id);
      // Every code must dequantize to a finite float32: |q - zp| * scale <= (levels + |zp|) * scale.
      if (!Number.isFinite(Math.fround((levels + Math.abs(z)) * e.scale[c]!))) {
        fail('BAD_REQUEST', `quantization.scale ${e.scale[c]} with zero_point ${z} overflows float32`, id);
      }
    }
  }
  const expected = packedByteLength(elements, e.bits);
  if (e.uncompressedBytes !== expected) {
    fail('BAD_REQUEST', `uncompressed_bytes ${e.uncompressedBytes} does not match [${e.shape.join(', ')}] at ${e.bits} bits (expected ${expected})`, id);
  }
  return elements;
}

function validateInferRequest(m: InferRequest, limits: FrameLimits): void {
  checkText(m.id, 'id', limits.maxIdLength, true);
  const id = m.id;
  checkText(m.name, 'tensor.name', limits.maxIdLength, true, id);
  if (m.datatype !== 'FP32') fail('BAD_REQUEST', `tensor.datatype ${JSON.stringify(m.datatype)} is not supported (FP32)`, id);
  checkEncoding(m.encoding, limits, id);
  const size = m.encoding.uncompressedBytes;
  if (m.encoding.codec === 'none' && m.raw.length !== size) {
    fail('BAD_REQUEST', `tensor.raw has ${m.raw.length} bytes; uncompressed_bytes says ${size}`, id);
  }
  if (m.encoding.codec === 'zstd' && (m.raw.length === 0 || m.raw.length >= size)) {
    fail('BAD_REQUEST', `zstd payload of ${m.raw.length} bytes must be non-empty and smaller than uncompressed_bytes ${size}`, id);
  }
  if (!Number.isInteger(m.exitIndex) || m.exitIndex < -1 || m.exitIndex > 1024) {
    fail('BAD_REQUEST', `exit_index must be -1 (none) or an exit index, got ${m.exitIndex}`, id);
  }
  if (!(m.exitConfidence >= 0 && m.exitConfidence <= 1)) {
    fail('BAD_REQUEST', `exit_confidence must be in [0, 1], got ${m.exitConfidence}`, id);
  }
  checkUint(m.deadlineMs, 'deadline_ms', id);
}

function validateInferResponse(m: InferResponse, limits: FrameLimits): void {
  checkText(m.id, 'id', limits.maxIdLength, true);
  const id = m.id;
  if (m.scores.length === 0 || m.scores.length > limits.maxScores) {
    fail('BAD_REQUEST', `scores must have 1..${limits.maxScores} entries, got ${m.scores.length}`, id);
  }
  for (const s of m.scores) if (!Number.isFinite(s)) fail('BAD_REQUEST', `scores must be finite, got ${s}`, id);
  if (m.topLabels.length !== 0 && m.topLabels.length !== m.scores.length) {
    fail('BAD_REQUEST', `top_labels has ${m.topLabels.length} entries; scores has ${m.scores.length}`, id);
  }
  for (const l of m.topLabels) checkUint(l, 'top_labels entry', id);
  checkUint(m.label, 'label', id);
  if (m.topLabels.length === 0 && m.label >= m.scores.length) {
    fail('BAD_REQUEST', `label ${m.label} is outside the ${m.scores.length} scores`, id);
  }
  checkUint(m.timings.queueUs, 'timings.queue_us', id);
  checkUint(m.timings.decodeUs, 'timings.decode_us', id);
  checkUint(m.timings.computeUs, 'timings.compute_us', id);
  checkUint(m.batchSize, 'batch_size', id);
  if (m.batchSize === 0) fail('BAD_REQUEST', 'batch_size must be positive', id);
}

function validateError(m: ErrorMessage, limits: FrameLimits): void {
  checkText(m.id, 'id', limits.maxIdLength, false);
  checkText(m.message, 'message', limits.maxTextLength, false);
  checkUint(m.retryAfterMs, 'retry_after_ms');
}

/** Validates any message; throws {@link OfframpError} naming the first bad field. */
export function validateMessage(m: Message, limits: FrameLimits): void {
  switch (m.type) {
    case 'hello': return validateHello(m, limits);
    case 'helloAck': return validateHelloAck(m, limits);
    case 'inferRequest': return validateInferRequest(m, limits);
    case 'inferResponse': return validateInferResponse(m, limits);
    case 'error': return validateError(m, limits);
  }
}
