/**
 * Field-by-field validation of decoded protocol messages: the rules that need no context
 * (ranges, lengths, known enum values). What depends on the bound bundle (which rate points, how
 * long a payload may be) is checked by the edge against the handshake. Throws {@link OfframpError}
 * naming the field.
 */
import { OfframpError, type ErrorCode } from './errors.js';
import type { FrameLimits } from './limits.js';
import { pb, type Answer, type BundleRef, type Hello, type HelloAck, type Message, type OutputTensor, type Request, type WireError } from './messages.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const WANT_ALL = pb.Want.WANT_TIMINGS | pb.Want.WANT_SCORES | pb.Want.WANT_OUTPUTS;
/** Most labels a request may ask for with top_k. */
export const MAX_TOP_K = 1024;
/** device_id length bounds, bytes (128 bits or more). */
export const DEVICE_ID_BYTES = { min: 16, max: 64 } as const;

function fail(code: ErrorCode, message: string, requestId?: number): never {
  throw new OfframpError(code, message, requestId === undefined ? {} : { requestId });
}

function checkText(value: string, field: string, max: number, required: boolean, id?: number): void {
  if (required && value.length === 0) fail('BAD_REQUEST', `${field} is required`, id);
  if (value.length > max) fail('BAD_REQUEST', `${field} is longer than ${max} characters`, id);
}

function checkEnum(value: number, values: object, field: string, id?: number): void {
  if (!Object.values(values).includes(value)) fail('BAD_REQUEST', `${field} ${value} is not a known value`, id);
}

function checkBundleRef(ref: BundleRef | null | undefined, limits: FrameLimits): asserts ref is BundleRef {
  if (!ref) fail('BAD_REQUEST', 'bundle is required');
  checkText(ref.id, 'bundle.id', limits.maxIdLength, true);
  checkText(ref.version, 'bundle.version', limits.maxIdLength, true);
  if (!SHA256_HEX.test(ref.manifestSha256)) fail('BAD_REQUEST', 'bundle.manifest_sha256 must be 64 lower-case hex characters');
}

function checkList(list: readonly unknown[], field: string, limits: FrameLimits): void {
  if (list.length > limits.maxListLength) fail('BAD_REQUEST', `${field} lists more than ${limits.maxListLength} entries`);
}

function validateHello(m: Hello, limits: FrameLimits): void {
  checkText(m.clientName, 'client_name', limits.maxIdLength, false);
  checkText(m.clientVersion, 'client_version', limits.maxIdLength, false);
  checkBundleRef(m.bundle, limits);
  checkList(m.ratePoints, 'rate_points', limits);
  checkList(m.inputEncodings, 'input_encodings', limits);
  // An input encoding this version does not know is left out of the ack, not refused (§3, §11).
  checkEnum(m.outputEncoding, pb.OutputEncoding, 'output_encoding');
  checkText(m.authToken, 'auth_token', limits.maxTextLength, false);
  const n = m.deviceId.length;
  if (n !== 0 && (n < DEVICE_ID_BYTES.min || n > DEVICE_ID_BYTES.max)) {
    fail('BAD_REQUEST', `device_id must be empty or ${DEVICE_ID_BYTES.min}..${DEVICE_ID_BYTES.max} bytes (128 bits or more), got ${n}`);
  }
}

function validateHelloAck(m: HelloAck, limits: FrameLimits): void {
  checkBundleRef(m.bundle, limits);
  checkList(m.ratePoints, 'rate_points', limits);
  checkList(m.inputEncodings, 'input_encodings', limits);
  checkEnum(m.outputEncoding, pb.OutputEncoding, 'output_encoding');
  if (!m.limits) fail('BAD_REQUEST', 'limits is required');
  for (const k of ['maxFrameBytes', 'maxInFlight', 'maxBatch', 'deadlineMs', 'maxDeadlineMs'] as const) {
    if (!(m.limits[k] > 0)) fail('BAD_REQUEST', `limits.${k} must be positive`);
  }
  checkText(m.serverId, 'server_id', limits.maxIdLength, false);
}

function validateRequest(m: Request): void {
  if (m.id === 0) fail('BAD_REQUEST', 'id is required (1 .. 2^32 - 1)');
  const id = m.id;
  checkEnum(m.graph, pb.Graph, 'graph', id);
  if ((m.want & ~WANT_ALL) !== 0) fail('BAD_REQUEST', `want ${m.want} sets unknown flags (known: ${WANT_ALL})`, id);
  if (m.topK > MAX_TOP_K) fail('BAD_REQUEST', `top_k ${m.topK} is more than ${MAX_TOP_K}`, id);
}

function validateOutput(t: OutputTensor, limits: FrameLimits, id: number): void {
  checkText(t.name, 'outputs.name', limits.maxIdLength, true, id);
  checkEnum(t.dtype, pb.DataType, 'outputs.dtype', id);
  if (t.dtype === pb.DataType.DATA_TYPE_UNSPECIFIED) fail('BAD_REQUEST', 'outputs.dtype is required', id);
  checkEnum(t.encoding, pb.OutputEncoding, 'outputs.encoding', id);
  if (t.shape.length > limits.maxRank) fail('BAD_REQUEST', `outputs.shape has rank ${t.shape.length}; the limit is ${limits.maxRank}`, id);
  if (t.encoding === pb.OutputEncoding.OUTPUT_INT8 && !(Number.isFinite(t.scale) && t.scale > 0 && Number.isFinite(t.zeroPoint))) {
    fail('BAD_REQUEST', 'outputs: int8 tensors need a finite positive scale and a finite zero point', id);
  }
}

function validateAnswer(m: Answer, limits: FrameLimits): void {
  if (m.id === 0) fail('BAD_REQUEST', 'id is required', undefined);
  const id = m.id;
  if (m.confidence > 255) fail('BAD_REQUEST', `confidence ${m.confidence} is above 255`, id);
  for (const s of m.scores) if (!Number.isFinite(s)) fail('BAD_REQUEST', `scores must be finite, got ${s}`, id);
  if (m.topLabels.length > MAX_TOP_K) fail('BAD_REQUEST', `top_labels has more than ${MAX_TOP_K} entries`, id);
  if (m.topLabels.length > 0 && m.scores.length > 0 && m.scores.length !== m.topLabels.length) {
    fail('BAD_REQUEST', `scores has ${m.scores.length} entries; top_labels has ${m.topLabels.length}`, id);
  }
  if (m.topLabels.length > 0 && m.topLabels[0] !== m.label) fail('BAD_REQUEST', `top_labels[0] ${m.topLabels[0]} is not label ${m.label}`, id);
  if (m.outputs.length > limits.maxOutputs) fail('BAD_REQUEST', `more than ${limits.maxOutputs} outputs`, id);
  for (const t of m.outputs) validateOutput(t, limits, id);
}

function validateError(m: WireError, limits: FrameLimits): void {
  checkText(m.message, 'message', limits.maxTextLength, false);
  checkList(m.supportedVersions, 'supported_versions', limits);
}

/** Validates a decoded message; throws {@link OfframpError} naming the first bad field. */
export function validateMessage(m: Message, limits: FrameLimits): void {
  switch (m.type) {
    case 'hello':
      return validateHello(m.hello, limits);
    case 'helloAck':
      return validateHelloAck(m.helloAck, limits);
    case 'request':
      return validateRequest(m.request);
    case 'answer':
      return validateAnswer(m.answer, limits);
    case 'error':
      return validateError(m.error, limits);
  }
}
