/**
 * offramp/head — the device SDK: head + early exits + adaptive offloading.
 *
 * @example
 * ```ts
 * import { createDevice } from 'offramp/head';
 * const device = await createDevice({ bundle: 'models/fmnist-b32', edge: 'ws://127.0.0.1:8080', policy: { objective: 'latency', maxAccuracyLoss: 0.005 } });
 * const r = await device.infer(image); // r.label, r.path, r.bytesUp, r.timings, r.energy
 * await device.close();
 * ```
 */
export { createDevice, fetchBundle, STALE_AFTER, type Device, type DeviceOptions, type InferResult, type InferPath, type InMemoryBundle } from './device.js';
export { decide, fullOffloadFirst, policyModel, thresholdFor, radioEnergyJ, radioActiveEnergyJ, radioPowerW, offloadCost, localCost, RADIOS } from './policy.js';
export type { Decision, DeviceProfile, LinkEstimate, Objective, ForcedPolicy, PolicyOptions, RadioModel, CostInputs, PolicyModel } from './policy.js';
export { LinkEstimator, type LinkEstimatorOptions } from './link.js';
export { EdgeTransport, type TransportOptions, type RequestOutcome, type FailureReason } from './transport.js';
export { exitDecision } from './exit.js';
export { loadBackend, type InferenceBackend, type ModelSession, type BackendName } from './backend.js';
