/** head/device-options.ts: what createDevice and infer() refuse before any work, with exact messages, and the defaults they fill in. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkDeviceOptions,
  checkInferOptions,
  checkInputEncoding,
  checkPolicy,
  INPUT_CODEC_TO_WIRE,
  OUTPUT_ENCODING_TO_WIRE,
  resolveProfile,
} from '../../head/device-options.js';
import type { DeviceOptions } from '../../head/device-types.js';
import { deviceProfile } from '../../head/devices.js';
import type { Manifest } from '../../protocol/manifest.js';
import { pb } from '../../protocol/messages.js';
import { TINY } from './helpers.js';

const manifest = JSON.parse(readFileSync(join(TINY, 'manifest.json'), 'utf8')) as Manifest;

/** `f()` throws INVALID_ARGUMENT with exactly `message`. */
function refuses(f: () => unknown, message: string): void {
  expect(f).toThrow(expect.objectContaining({ name: 'OfframpError', code: 'INVALID_ARGUMENT', message }));
}
const options = (more: Partial<Record<keyof DeviceOptions, unknown>>): DeviceOptions => ({ bundle: TINY, ...more }) as DeviceOptions;

describe('checkPolicy', () => {
  it('fills in the latency objective and half a point of accuracy, keeping what was given', () => {
    expect(checkPolicy(undefined, 3)).toEqual({ objective: 'latency', maxAccuracyLoss: 0.005 });
    expect(checkPolicy({ objective: 'energy', ratePoint: 2, force: 'always-offload' }, 3)).toEqual({
      objective: 'energy',
      maxAccuracyLoss: 0.005,
      ratePoint: 2,
      force: 'always-offload',
    });
  });

  it('checks the rate point against the count it is given (Infinity before the bundle is read)', () => {
    expect(checkPolicy({ ratePoint: 7 }, Infinity).ratePoint).toBe(7);
    refuses(() => checkPolicy({ ratePoint: 7 }, 3), 'policy.ratePoint must be a rate point index 0..2, got 7');
    refuses(() => checkPolicy({ ratePoint: 0.5 }, 3), 'policy.ratePoint must be a rate point index 0..2, got 0.5');
    refuses(() => checkPolicy({ latencyBudgetMs: -5 }, 3), 'policy.latencyBudgetMs must be positive, got -5');
    refuses(() => checkPolicy({ maxAccuracyLoss: NaN }, 3), 'policy.maxAccuracyLoss is a fraction in [0, 1] (0.005 = half a point), got NaN');
  });
});

describe('checkDeviceOptions', () => {
  it('returns the profile: this machine on LTE by default, a named class and link, or a DeviceProfile as it is', () => {
    expect(checkDeviceOptions(options({}))).toEqual(deviceProfile('host', 'lte'));
    expect(checkDeviceOptions(options({ profile: { device: 'mcu', link: 'wifi', periodMs: 100 } }))).toEqual(deviceProfile('mcu', 'wifi', 100));
    const p = deviceProfile('rpi4', '3g', 5);
    expect(checkDeviceOptions(options({ profile: p }))).toBe(p);
  });

  it('refuses deadlines, encodings and device ids outside their ranges', () => {
    refuses(() => checkDeviceOptions(options({ deadlineMs: 0 })), 'deadlineMs must be a positive number of ms, got 0');
    refuses(() => checkDeviceOptions(options({ fetchTimeoutMs: Infinity })), 'fetchTimeoutMs must be a positive number of ms, got Infinity');
    refuses(() => checkDeviceOptions(options({ connectWaitMs: -1 })), 'connectWaitMs must be 0 or a positive number of ms, got -1');
    expect(() => checkDeviceOptions(options({ connectWaitMs: 0 }))).not.toThrow();
    refuses(() => checkDeviceOptions(options({ outputEncoding: 'fp8' })), 'outputEncoding must be fp32, fp16 or int8, got "fp8"');
    refuses(() => checkDeviceOptions(options({ inputEncoding: { codec: 'png' } })), 'inputEncoding.codec must be raw, downsample or jpeg, got "png"');
    refuses(() => checkDeviceOptions(options({ deviceId: new Uint8Array(15) })), 'deviceId must be a Uint8Array of 16..64 random bytes (128 bits or more)');
    refuses(() => checkDeviceOptions(options({ deviceId: 'me' })), 'deviceId must be a Uint8Array of 16..64 random bytes (128 bits or more)');
    expect(() => checkDeviceOptions(options({ deviceId: new Uint8Array(16), deadlineMs: 0.5, outputEncoding: 'int8' }))).not.toThrow();
  });

  it('checks in order: options, edge, values, profile, policy', () => {
    refuses(() => checkDeviceOptions(undefined as unknown as DeviceOptions), 'createDevice needs options: { bundle, edge?, policy?, profile? }');
    refuses(() => checkDeviceOptions(options({ edge: 'tcp://x', deadlineMs: -1 })), 'edge must be a ws:// or wss:// URL, got "tcp://x"');
    refuses(() => checkDeviceOptions(options({ deadlineMs: -1, profile: 7 })), 'deadlineMs must be a positive number of ms, got -1');
    refuses(() => checkDeviceOptions(options({ profile: 7, policy: { objective: 'x' } })), 'profile must be { device, link, periodMs? } or a DeviceProfile');
  });
});

describe('resolveProfile', () => {
  it('refuses incomplete DeviceProfiles and negative periods', () => {
    const p = deviceProfile('mcu', 'wifi');
    refuses(() => resolveProfile({ ...p, periodMs: -1 }), 'a DeviceProfile needs device, radio and periodMs ≥ 0 (use deviceProfile(id, link))');
    refuses(() => resolveProfile({ device: 'mcu', link: 'wifi', periodMs: -1 }), 'profile.periodMs must be ≥ 0, got -1');
  });
});

describe('checkInputEncoding', () => {
  it("defaults to raw and checks an encoding against the bundle's raw shape", () => {
    expect(checkInputEncoding(manifest, undefined)).toEqual({ codec: 'raw' });
    expect(checkInputEncoding(manifest, { codec: 'downsample', factor: 2, bits: 4 })).toEqual({ codec: 'downsample', factor: 2, bits: 4 });
    refuses(() => checkInputEncoding(manifest, { codec: 'downsample', factor: 1, bits: 4 }), 'inputEncoding: downsample factor must be 2..64, got 1');
  });
});

describe('checkInferOptions', () => {
  it('takes a non-negative integer topK', () => {
    expect(() => checkInferOptions({ topK: 0, scores: true })).not.toThrow();
    refuses(() => checkInferOptions({ topK: 2.5 }), 'topK must be a non-negative integer, got 2.5');
  });
});

describe('wire values', () => {
  it('map every input codec and output encoding a device may name', () => {
    expect(INPUT_CODEC_TO_WIRE).toEqual({ raw: pb.InputCodec.INPUT_RAW, downsample: pb.InputCodec.INPUT_DOWNSAMPLE, jpeg: pb.InputCodec.INPUT_JPEG });
    expect(OUTPUT_ENCODING_TO_WIRE).toEqual({ fp32: pb.OutputEncoding.OUTPUT_FP32, fp16: pb.OutputEncoding.OUTPUT_FP16, int8: pb.OutputEncoding.OUTPUT_INT8 });
  });
});
