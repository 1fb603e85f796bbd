/**
 * The device's argument checks: everything createDevice can refuse before it reads a file, the
 * policy's defaults, the device profile, the input encoding against the bundle, and infer()'s
 * options. Each refusal is `INVALID_ARGUMENT` saying what was expected.
 */
import { inputEncodingProblem, type InputEncoding } from '../bottleneck/input.js';
import { OfframpError } from '../protocol/errors.js';
import type { Manifest } from '../protocol/manifest.js';
import { pb } from '../protocol/messages.js';
import { DEVICE_ID_BYTES } from '../protocol/validate.js';
import type { DeviceOptions, InferOptions } from './device-types.js';
import { deviceProfile, type DeviceProfile } from './devices.js';
import { FORCED_POLICIES, OBJECTIVES, type PolicyOptions } from './policy.js';

export function invalid(message: string): never {
  throw new OfframpError('INVALID_ARGUMENT', message);
}

/** The input codecs and output encodings a device may name, and their values in the Hello. */
export const INPUT_CODEC_TO_WIRE = { raw: pb.InputCodec.INPUT_RAW, downsample: pb.InputCodec.INPUT_DOWNSAMPLE, jpeg: pb.InputCodec.INPUT_JPEG } as const;
export const OUTPUT_ENCODING_TO_WIRE = {
  fp32: pb.OutputEncoding.OUTPUT_FP32,
  fp16: pb.OutputEncoding.OUTPUT_FP16,
  int8: pb.OutputEncoding.OUTPUT_INT8,
} as const;

/** Policy options with defaults, checked. */
export function checkPolicy(p: Partial<PolicyOptions> | undefined, ratePoints: number): PolicyOptions {
  const o: PolicyOptions = { objective: 'latency', maxAccuracyLoss: 0.005, ...p };
  if (!OBJECTIVES.includes(o.objective)) invalid(`policy.objective must be one of ${OBJECTIVES.join(', ')}, got ${JSON.stringify(o.objective)}`);
  if (!(o.maxAccuracyLoss >= 0 && o.maxAccuracyLoss <= 1))
    invalid(`policy.maxAccuracyLoss is a fraction in [0, 1] (0.005 = half a point), got ${o.maxAccuracyLoss}`);
  if (o.force !== undefined && !FORCED_POLICIES.includes(o.force))
    invalid(`policy.force must be one of ${FORCED_POLICIES.join(', ')}, got ${JSON.stringify(o.force)}`);
  if (o.latencyBudgetMs !== undefined && !(o.latencyBudgetMs > 0)) invalid(`policy.latencyBudgetMs must be positive, got ${o.latencyBudgetMs}`);
  if (o.exitThreshold !== undefined && !(o.exitThreshold > 0 && o.exitThreshold <= 1))
    invalid(`policy.exitThreshold is a confidence in (0, 1], got ${o.exitThreshold}`);
  if (o.ratePoint !== undefined && !(Number.isInteger(o.ratePoint) && o.ratePoint >= 0 && o.ratePoint < ratePoints))
    invalid(`policy.ratePoint must be a rate point index 0..${ratePoints - 1}, got ${o.ratePoint}`);
  return o;
}

function checkEdgeUrl(edge: string): void {
  let u: URL;
  try {
    u = new URL(edge);
  } catch {
    invalid(`edge ${JSON.stringify(edge)} is not a URL (expected ws://host:port or wss://host:port)`);
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') invalid(`edge must be a ws:// or wss:// URL, got ${JSON.stringify(edge)}`);
}

/** Deadlines, encodings and the device id. */
function checkValues(o: DeviceOptions): void {
  const positive = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) invalid(`${name} must be a positive number of ms, got ${v}`);
  };
  positive('deadlineMs', o.deadlineMs);
  positive('fetchTimeoutMs', o.fetchTimeoutMs);
  if (o.connectWaitMs !== undefined && !(Number.isFinite(o.connectWaitMs) && o.connectWaitMs >= 0))
    invalid(`connectWaitMs must be 0 or a positive number of ms, got ${o.connectWaitMs}`);
  if (o.outputEncoding !== undefined && !(o.outputEncoding in OUTPUT_ENCODING_TO_WIRE))
    invalid(`outputEncoding must be fp32, fp16 or int8, got ${JSON.stringify(o.outputEncoding)}`);
  if (o.inputEncoding !== undefined && !(o.inputEncoding?.codec in INPUT_CODEC_TO_WIRE))
    invalid(`inputEncoding.codec must be raw, downsample or jpeg, got ${JSON.stringify(o.inputEncoding?.codec)}`);
  if (o.deviceId !== undefined && (!(o.deviceId instanceof Uint8Array) || o.deviceId.length < DEVICE_ID_BYTES.min || o.deviceId.length > DEVICE_ID_BYTES.max)) {
    invalid(`deviceId must be a Uint8Array of ${DEVICE_ID_BYTES.min}..${DEVICE_ID_BYTES.max} random bytes (128 bits or more)`);
  }
}

/** The device the options name (default: this machine, measured, on LTE, back to back). */
export function resolveProfile(p: DeviceOptions['profile']): DeviceProfile {
  if (p === undefined) return deviceProfile('host', 'lte');
  if (typeof p !== 'object' || p === null) invalid('profile must be { device, link, periodMs? } or a DeviceProfile');
  if ('radio' in p) {
    if (!p.device || !p.radio || !(p.periodMs >= 0)) invalid('a DeviceProfile needs device, radio and periodMs ≥ 0 (use deviceProfile(id, link))');
    return p;
  }
  if (p.periodMs !== undefined && !(p.periodMs >= 0)) invalid(`profile.periodMs must be ≥ 0, got ${p.periodMs}`);
  try {
    return deviceProfile(p.device, p.link, p.periodMs ?? 0);
  } catch (err) {
    invalid((err as Error).message);
  }
}

/**
 * Every check createDevice makes before it reads a file (the policy's rate point is checked
 * again once the bundle says how many there are); returns the device profile.
 */
export function checkDeviceOptions(options: DeviceOptions): DeviceProfile {
  if (options === null || typeof options !== 'object') invalid('createDevice needs options: { bundle, edge?, policy?, profile? }');
  if (options.edge !== undefined) checkEdgeUrl(options.edge);
  checkValues(options);
  const profile = resolveProfile(options.profile);
  checkPolicy(options.policy, Infinity);
  return profile;
}

/** How full offload sends the raw input (default raw), checked against the bundle's raw shape. */
export function checkInputEncoding(m: Manifest, e: InputEncoding | undefined): InputEncoding {
  const encoding: InputEncoding = e ?? { codec: 'raw' };
  const problem = inputEncodingProblem(m.input.raw.shape, encoding);
  if (problem) invalid(`inputEncoding: ${problem}`);
  return encoding;
}

/** infer()'s options (the sample itself: head/input.ts). */
export function checkInferOptions(o: InferOptions): void {
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) invalid(`topK must be a non-negative integer, got ${o.topK}`);
}
