/**
 * offramp/head — the device SDK: head + early exits + adaptive offloading.
 *
 * @example
 * ```ts
 * import { createDevice } from 'offramp/head';
 * const device = await createDevice({ bundle: 'models/fmnist-b32', edge: 'ws://127.0.0.1:8080' });
 * const r = await device.infer(image); // image: Uint8Array of 784 pixels; r.label, r.labelName, r.path, r.bytesUp, r.timings, r.energy
 * await device.close();
 * ```
 */
export {
  createDevice,
  checkPolicy,
  type Device,
  type DeviceOptions,
  type InferOptions,
  type InferResult,
  type InferPath,
  type InMemoryBundle,
} from './device.js';
export { fetchBundle, openDeviceBundle, readerFor, type BundleSource } from './bundle-source.js';
export { checkSample, type Sample, type CheckedSample } from './input.js';
export { STALE_AFTER, STALE_AFTER_MAX, CostTracker, timeWarm, type SendSizes } from './costs.js';
export {
  decide,
  fullOffloadFirst,
  policyModel,
  bundlePolicyModel,
  thresholdFor,
  sendCost,
  localCost,
  expectedBusyMs,
  OBJECTIVES,
  FORCED_POLICIES,
} from './policy.js';
export type {
  Decision,
  LinkEstimate,
  Objective,
  ForcedPolicy,
  PolicyOptions,
  CostInputs,
  SendCost,
  PolicyModel,
  OptionCost,
  ExitCalibration,
  PolicyManifest,
} from './policy.js';
export { RADIOS, DEVICE_CLASSES, deviceClass, deviceProfile, computeMs, power, type DeviceClass, type DeviceProfile, type LinkName } from './devices.js';
export {
  transferEnergyJ,
  computeEnergyJ,
  idleAfter,
  inferenceEnergy,
  type RadioModel,
  type Transfer,
  type PowerProfile,
  type InferenceWork,
} from './energy.js';
export { LinkEstimator, type LinkEstimatorOptions } from './link.js';
export { EdgeTransport, wsClientOverhead, wsServerOverhead, type TransportOptions, type RequestOutcome, type FailureReason } from './transport.js';
export { exitDecision } from './exit.js';
export { loadBackend, type InferenceBackend, type ModelSession, type BackendName, type Float32Tensor } from './backend.js';
export { registerPlatform, currentPlatform, IS_NODE, type Platform } from './platform.js';
export { OPEN, CLOSED, CONNECTING, type SocketLike, type SocketFactory } from './socket.js';
export { parseIdxAsync, decodeIdx, type IdxArray } from './datasets/idx-parse.js';
