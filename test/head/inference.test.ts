/**
 * head/inference.ts without models or an edge: fake sessions (the head's latent and exit logits,
 * the full model's logits, each run counted), the real cost tracker, link estimate, result
 * builder and Sender over a fake transport. Which model runs on each path, what goes to the edge,
 * what the estimates learn, and the fallback with its reason.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeFeatures, type RatePoint } from '../../bottleneck/features.js';
import { resolveRatePoints } from '../../bottleneck/rate-points.js';
import { openDeviceBundle } from '../../head/bundle-source.js';
import { checkPolicy } from '../../head/device-options.js';
import { deviceProfile } from '../../head/devices.js';
import { costTrackerFor } from '../../head/estimates.js';
import { folderReader } from '../../head/folder.js';
import { Inference } from '../../head/inference.js';
import { LinkEstimator } from '../../head/link.js';
import { bundlePolicyModel, type PolicyOptions } from '../../head/policy.js';
import { ResultBuilder } from '../../head/results.js';
import { Sender, type EdgeLike, type Outgoing } from '../../head/sender.js';
import type { RequestOutcome } from '../../head/transport.js';
import type { Manifest } from '../../protocol/manifest.js';
import { pb, type Answer, type HelloAck } from '../../protocol/messages.js';
import { TINY } from './helpers.js';

let manifest: Manifest;
let ratePoints: RatePoint[];
beforeAll(async () => {
  const opened = await openDeviceBundle(TINY, undefined, undefined, folderReader);
  manifest = opened.manifest;
  ratePoints = resolveRatePoints(manifest, opened.tables);
});

const PROFILE = deviceProfile('mcu', 'wifi');
const LATENT = Float32Array.from({ length: 98 }, (_, i) => ((i % 5) - 2) * 0.7);
/** Exit logits the exit takes (confidence ≈ 1) or does not (0.1). */
const SURE = Float32Array.from([0, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
const UNSURE = new Float32Array(10);
const FULL_LOGITS = Float32Array.from([0, 0, 0, 0, 0, 0, 0, 4, 0, 0]);
const ANSWER = { id: 1, label: 5, confidence: 255, topLabels: [], scores: [], timings: null, outputs: [] } as unknown as Answer;

interface Rig {
  inference: Inference;
  runs: string[];
  requests: Outgoing[];
  costs: ReturnType<typeof costTrackerFor>;
}

/** An Inference for `policy`; with `edge`, a Sender whose transport answers with `edge` in turn. */
function rig(policy: Partial<PolicyOptions>, exitLogits: Float32Array, edge?: RequestOutcome[]): Rig {
  const runs: string[] = [];
  const requests: Outgoing[] = [];
  const p = checkPolicy(policy, ratePoints.length);
  const costs = costTrackerFor(manifest, ratePoints, PROFILE, { headMs: 1, localMs: 1 }, p);
  const transport: EdgeLike | undefined = edge && {
    ready: true,
    terms: { zstd: false } as HelloAck,
    request: (req) => (requests.push(req), Promise.resolve(edge.shift()!)),
  };
  const sessions = {
    runHead: (x: Float32Array) => (
      runs.push(`head ${x.length}`),
      Promise.resolve({ latent: { data: LATENT, dims: [1, 2, 7, 7] }, exit0_logits: { data: exitLogits, dims: [1, 10] } })
    ),
    runFull: (x: Float32Array) => (runs.push(`full ${x.length}`), Promise.resolve({ logits: { data: FULL_LOGITS, dims: [1, 10] } })),
  };
  const sender = transport && new Sender(transport, { manifest, ratePoints, inputEncoding: { codec: 'raw' }, deadlineMs: 1000, promotedNow: () => false });
  const results = new ResultBuilder(manifest, PROFILE, undefined);
  const link = new LinkEstimator();
  const inference = new Inference({ manifest, profile: PROFILE, policy: p, model: bundlePolicyModel(manifest, p), sessions, costs, link, sender, results });
  return { inference, runs, requests, costs };
}

const image = new Uint8Array(784).fill(7);

describe('Inference', () => {
  it('always-local: the full model alone, never the head', async () => {
    const r = rig({ force: 'always-local' }, SURE);
    expect(await r.inference.infer(image)).toMatchObject({ path: 'local', label: 7, payloadBytes: 0 });
    expect(r.runs).toEqual(['full 784']);
  });

  it('a confident exit answers after the head alone', async () => {
    const r = rig({ force: 'exit-then-offload', ratePoint: 0 }, SURE, []);
    expect(await r.inference.infer(image)).toMatchObject({ path: 'exit:0', label: 2 });
    expect(r.runs).toEqual(['head 784']);
    expect(r.requests).toEqual([]);
  });

  it("an offload with no edge configured: the full model answers, 'disconnected', naming the rate point", async () => {
    const r = rig({ force: 'always-offload', ratePoint: 1 }, UNSURE);
    expect(await r.inference.infer(image)).toMatchObject({ path: 'fallback', reason: 'disconnected', ratePoint: 'u4', label: 7, bytesUp: 0 });
    expect(r.runs).toEqual(['head 784', 'full 784']);
  });

  it("sends the head's latent at the rate point; the answer's round trip feeds the estimates", async () => {
    const r = rig({ force: 'exit-then-offload', ratePoint: 0 }, UNSURE, [{ ok: true, answer: ANSWER, bytesUp: 30, bytesDown: 12, ms: 9 }]);
    const res = await r.inference.infer(image, { topK: 1 });
    expect(res).toMatchObject({ path: 'edge', ratePoint: 's1', label: 5, bytesUp: 30, bytesDown: 12 });
    expect(r.runs).toEqual(['head 784']);
    const enc = encodeFeatures(LATENT, manifest.bottleneck.shape, ratePoints[0]!);
    expect(r.requests).toEqual([{ rate: 0, payload: enc.payload, zstd: enc.zstd, want: pb.Want.WANT_SCORES | pb.Want.WANT_TIMINGS, topK: 1 }]);
    expect(res.payloadBytes).toBe(enc.payload.length);
    expect(r.costs.inputs(performance.now()).split.get(0)).toMatchObject({ busyMs: 9, bytesUp: 30, bytesDown: 12 });
  });

  it('a send that gets no answer: the full model answers with the reason and the bytes that went', async () => {
    const r = rig({ force: 'always-offload', ratePoint: 0 }, UNSURE, [{ ok: false, reason: 'timeout', message: 'late', retryAfterMs: 0, bytesUp: 30 }]);
    const res = await r.inference.infer(image);
    expect(res).toMatchObject({ path: 'fallback', reason: 'timeout', ratePoint: 's1', bytesUp: 30, bytesDown: 0, label: 7 });
    expect(res.payloadBytes).toBe(encodeFeatures(LATENT, manifest.bottleneck.shape, ratePoints[0]!).payload.length);
    expect(res.energy.radioJ).toBeGreaterThan(0);
    expect(r.runs).toEqual(['head 784', 'full 784']);
  });

  it("a request the device did not send (bytesUp 0: held by the edge's retry-after) costs no radio and leaves the radio's idle time as it was", async () => {
    // Refused with a retry-after past the deadline: that request went (30 B), the next is held.
    const r = rig({ force: 'always-offload', ratePoint: 0 }, UNSURE, [
      { ok: false, reason: 'server-error:QUEUE_FULL', message: 'full', retryAfterMs: 5000, bytesUp: 30 },
    ]);
    expect(await r.inference.infer(image)).toMatchObject({ path: 'fallback', reason: 'server-error:QUEUE_FULL', bytesUp: 30 });
    const idleBefore = r.costs.inputs(performance.now()).sinceTransferMs;
    const res = await r.inference.infer(image);
    expect(r.requests).toHaveLength(1);
    expect(res).toMatchObject({ path: 'fallback', reason: 'server-error:QUEUE_FULL', bytesUp: 0, bytesDown: 0, label: 7 });
    expect(res.energy.radioJ).toBe(0);
    expect(r.costs.inputs(performance.now()).sinceTransferMs).toBeGreaterThanOrEqual(idleBefore);
  });

  it('full offload sends the raw sample, skipping the head', async () => {
    const r = rig({ force: 'full-offload' }, SURE, [{ ok: true, answer: ANSWER, bytesUp: 800, bytesDown: 12, ms: 9 }]);
    expect(await r.inference.infer(image)).toMatchObject({ path: 'edge', ratePoint: 'input', payloadBytes: 784, label: 5 });
    expect(r.runs).toEqual([]);
    expect(r.requests[0]).toMatchObject({ graph: pb.Graph.GRAPH_FULL, rate: 0, payload: image });
    expect(r.costs.inputs(performance.now()).full).toMatchObject({ busyMs: 9, bytesUp: 800 });
  });

  it('checks the sample and the options before any model runs', async () => {
    const r = rig({ force: 'always-local' }, SURE);
    await expect(r.inference.infer(new Uint8Array(3))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(r.inference.infer(image, { topK: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'topK must be a non-negative integer, got -1',
    });
    expect(r.runs).toEqual([]);
  });
});
