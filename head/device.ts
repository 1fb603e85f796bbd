/**
 * `createDevice`: the device SDK. Runs the head and its exits on the device; when no exit is
 * confident, the policy picks offloading (and the rate point) or finishing locally, or, before the
 * head, full offload. Every `infer()` resolves: when the edge does not answer in time,
 * disconnects or refuses, the device answers from its local full model (path 'fallback', with the
 * reason). createDevice composes the parts: device-options.ts (argument checks), bundle-source.ts
 * (reading and verifying the bundle), sessions.ts (the head and the full model), estimates.ts and
 * costs.ts (what the policy weighs), sender.ts (encoding and sending over transport.ts),
 * inference.ts (one infer(): router.ts routes it, policy.ts decides, results.ts builds the answer).
 */
import { resolveRatePoints } from '../bottleneck/rate-points.js';
import { openDeviceBundle } from './bundle-source.js';
import { checkDeviceOptions, checkInputEncoding, checkPolicy } from './device-options.js';
import type { Device, DeviceOptions } from './device-types.js';
import { modelledFromMacs } from './costs.js';
import { costTrackerFor } from './estimates.js';
import { Inference } from './inference.js';
import { LinkEstimator } from './link.js';
import { currentPlatform } from './platform.js';
import { bundlePolicyModel } from './policy.js';
import { ResultBuilder } from './results.js';
import { openEdge, Sender } from './sender.js';
import { openSessions } from './sessions.js';

export type { InMemoryBundle } from './bundle-source.js';
export type { Device, DeviceOptions, InferOptions, InferPath, InferResult } from './device-types.js';
export { checkPolicy } from './device-options.js';
export { TIMINGS_EVERY } from './sender.js';

/** Opens the bundle, the head and the local full model, and (when given) connects to the edge. */
export async function createDevice(options: DeviceOptions): Promise<Device> {
  const profile = checkDeviceOptions(options);
  const platform = options.platform ?? (await currentPlatform());
  const opened = await openDeviceBundle(options.bundle, options.token, options.fetchTimeoutMs, platform.readFolder);
  const m = opened.manifest;
  const ratePoints = resolveRatePoints(m, opened.tables);
  const policy = checkPolicy(options.policy, ratePoints.length);
  const sessions = await openSessions(opened, options, platform);
  // zstd is optional on a device (a browser may not load it): without it payloads go as they are.
  const zstd = await platform.zstd();
  const deadlineMs = options.deadlineMs ?? 1000;
  const inputEncoding = checkInputEncoding(m, options.inputEncoding);
  // JPEG (a baseline encoding for full offload) uses jpeg-js, loaded only when asked for.
  const jpeg = inputEncoding.codec === 'jpeg' ? (await import('../bottleneck/jpeg.js')).jpegJs : undefined;
  const link = new LinkEstimator();
  const transport = options.edge
    ? openEdge({
        url: options.edge,
        socket: platform.socket,
        token: options.token,
        deviceId: options.deviceId,
        manifest: m,
        manifestSha256: opened.manifestSha256,
        zstd: zstd !== undefined,
        deadlineMs,
        inputEncoding,
        outputEncoding: options.outputEncoding,
        link,
      })
    : undefined;
  // A class that models both times from the bundle's MACs: timing them here would change nothing.
  const modelled = modelledFromMacs(profile.device, m.macs?.head) && modelledFromMacs(profile.device, m.macs?.full);
  const measured = modelled ? { headMs: 0, localMs: 0 } : await sessions.timeWarm();
  const costs = costTrackerFor(m, ratePoints, profile, measured, policy, options.outputEncoding);
  const promotedNow = (): boolean => costs.inputs(performance.now()).sinceTransferMs > profile.radio.tailMs;
  const sender = transport && new Sender(transport, { manifest: m, ratePoints, zstd, jpeg, inputEncoding, deadlineMs, promotedNow });
  const results = new ResultBuilder(m, profile, zstd);
  const inference = new Inference({ manifest: m, profile, policy, model: bundlePolicyModel(m, policy), sessions, costs, link, sender, results });
  // Give the handshake a moment, without making a device whose edge is absent wait long.
  const connectWaitMs = options.connectWaitMs ?? Math.min(1000, deadlineMs);
  if (connectWaitMs > 0) await transport?.whenReady(connectWaitMs);
  return {
    manifest: m,
    backend: sessions.backend,
    profile,
    get connected() {
      return transport?.ready ?? false;
    },
    whenConnected: (timeoutMs) => transport?.whenReady(timeoutMs) ?? Promise.resolve(false),
    infer: (sample, opts) => inference.infer(sample, opts),
    async close() {
      await transport?.close();
      await sessions.release();
    },
  };
}
