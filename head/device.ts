/**
 * `createDevice`: the device SDK. Runs the head and its exits on the device; when no exit is
 * confident, the policy picks offloading (and the rate point) or finishing locally, or, before the
 * head, full offload. Every `infer()` resolves: when the edge does not answer in time,
 * disconnects or refuses, the device answers from its local full model (path 'fallback', with the
 * reason). The parts: bundle-source.ts (reading and verifying the bundle), input.ts (checking
 * samples), costs.ts (what the policy weighs), policy.ts (the decision), transport.ts (the edge),
 * energy.ts + devices.ts (the modelled device).
 */
import { encodeFeatures, maxPayloadBytes, type RatePoint } from '../bottleneck/features.js';
import { encodeInput, inputEncodingProblem, type InputEncoding } from '../bottleneck/input.js';
import { decodeOutput, topK as topLabels, type DecodedOutput } from '../bottleneck/outputs.js';
import { resolveRatePoints } from '../bottleneck/rate-points.js';
import type { ZstdBackend } from '../bottleneck/zstd.js';
import { OfframpError } from '../protocol/errors.js';
import type { Manifest } from '../protocol/manifest.js';
import { confidenceFromWire, pb, type Answer, type RequestInit } from '../protocol/messages.js';
import { DEVICE_ID_BYTES } from '../protocol/validate.js';
import { argmax, softmax } from '../protocol/scores.js';
import { loadBackend, type BackendName, type ModelSession } from './backend.js';
import { currentPlatform, type Platform } from './platform.js';
import { openDeviceBundle, type BundleSource } from './bundle-source.js';
import { CostTracker, timeWarm } from './costs.js';
import { deviceProfile, power, type DeviceProfile, type LinkName } from './devices.js';
import { inferenceEnergy } from './energy.js';
import { exitDecision } from './exit.js';
import { checkSample, type Sample } from './input.js';
import { LinkEstimator } from './link.js';
import { decide, fullOffloadFirst, bundlePolicyModel, FORCED_POLICIES, OBJECTIVES, type PolicyModel, type PolicyOptions } from './policy.js';
import { EdgeTransport, wsClientOverhead, type FailureReason, type RequestOutcome } from './transport.js';

export type { InMemoryBundle } from './bundle-source.js';

export interface DeviceOptions {
  /**
   * Bundle folder (Node.js); an http(s) URL of one (e.g. an edge's `/v1/models/<id>/<version>/`);
   * or its files in memory. Verified every way (schema, sha256 of every file used).
   */
  bundle: BundleSource;
  /** ws:// or wss:// URL of an edge; absent: the device never offloads. */
  edge?: string;
  token?: string;
  policy?: Partial<PolicyOptions>;
  /** Default: onnxruntime-node in Node.js, onnxruntime-web (wasm) in browsers; either can be forced. */
  backend?: BackendName;
  /** The platform's parts (backend, WebSocket, folders, zstd); default: this environment's (head/platform.ts). */
  platform?: Platform;
  /** Node.js with onnxruntime-node: run the head in a worker thread so the event loop stays free. */
  headInWorker?: boolean;
  /**
   * The device this one stands for (docs/bench/DEVICES.md): a class, its link and how often the
   * app infers. Modelled classes take their compute time from the bundle's MACs. Default: this
   * machine (measured) on LTE, back to back.
   */
  profile?: DeviceProfile | { device: string; link: LinkName; periodMs?: number };
  /** For a bundle URL: how long fetching each file may take, ms. Default 30000. */
  fetchTimeoutMs?: number;
  /** Every infer() answers within this many ms of the head finishing (edge or fallback). Default 1000. */
  deadlineMs?: number;
  /** 16..64 bytes naming this device across reconnects (the edge then answers retried ids once). */
  deviceId?: Uint8Array;
  /** How full offload sends the raw input. Default `{ codec: 'raw' }` (zstd-wrapped when smaller). */
  inputEncoding?: InputEncoding;
  /** How the edge encodes output tensors for this device. Default 'fp32'. */
  outputEncoding?: 'fp32' | 'fp16' | 'int8';
}

/** What an answer should carry beyond the label and its confidence. */
export interface InferOptions {
  /** Every label's probability. Local paths always have them; the edge sends them when asked. */
  scores?: boolean;
  /** The k most probable labels, best first. */
  topK?: number;
  /** The tail's output tensors (always for bundles whose task is not classification). */
  outputs?: boolean;
}

export type InferPath = `exit:${number}` | 'edge' | 'local' | 'fallback';

export interface InferResult {
  /** Index into the manifest's labels (classification; -1 for tensor bundles). */
  label: number;
  labelName: string | undefined;
  /** Probability of `label` (from the edge: resolution 1/255). */
  confidence: number;
  /** Every label's probability, when known (see InferOptions.scores). */
  scores?: number[];
  topK?: { label: number; score: number }[];
  /** Output tensors by name (tensor bundles, or InferOptions.outputs). */
  outputs?: Record<string, DecodedOutput>;
  path: InferPath;
  reason?: FailureReason;
  /** The rate point id the features were (or were to be) sent at; 'input' for full offload. */
  ratePoint?: string;
  /** Bytes the codec produced (the payload), and everything on the socket each way (WebSocket framing included). */
  payloadBytes: number;
  bytesUp: number;
  bytesDown: number;
  /**
   * Milliseconds on the profile's device: head and local compute (modelled from MACs for a
   * modelled class, measured otherwise), encoding, the round trip (network + server), total.
   */
  timings: { head: number; encode: number; network: number; server: { queue: number; decode: number; compute: number }; local: number; total: number };
  energy: { computeJ: number; radioJ: number; totalJ: number; model: string };
  /**
   * Milliseconds measured on this machine (whatever device the profile models): the head, the
   * encoding, the request to its answer (or failure), the local model, and the whole call.
   */
  measured: { head: number; encode: number; busy: number; local: number; wall: number };
}

export interface Device {
  readonly manifest: Manifest;
  readonly backend: BackendName;
  readonly profile: DeviceProfile;
  infer(sample: Sample, options?: InferOptions): Promise<InferResult>;
  /** True while handshaken with the edge. */
  readonly connected: boolean;
  /** Resolves true once connected, false after `timeoutMs` (or at once without an edge). */
  whenConnected(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Framing of a request beyond its payload (protobuf) and of a class answer, bytes: for estimates before anything was measured. */
const REQUEST_FRAMING = 8;
const ANSWER_BYTES = 14;
function isClassifierManifest(m: Manifest): boolean {
  return m.task === 'classification';
}

/** The device asks for server timings on one request in this many (they cost bytes down). */
export const TIMINGS_EVERY = 8;

function invalid(message: string): never {
  throw new OfframpError('INVALID_ARGUMENT', message);
}

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

/** The options createDevice checks before reading anything. */
function checkDeviceOptions(o: DeviceOptions): void {
  const positive = (name: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) invalid(`${name} must be a positive number of ms, got ${v}`);
  };
  positive('deadlineMs', o.deadlineMs);
  positive('fetchTimeoutMs', o.fetchTimeoutMs);
  if (o.outputEncoding !== undefined && !(o.outputEncoding in OUTPUT_ENCODING_TO_WIRE))
    invalid(`outputEncoding must be fp32, fp16 or int8, got ${JSON.stringify(o.outputEncoding)}`);
  if (o.inputEncoding !== undefined && !(o.inputEncoding?.codec in INPUT_CODEC_TO_WIRE))
    invalid(`inputEncoding.codec must be raw, downsample or jpeg, got ${JSON.stringify(o.inputEncoding?.codec)}`);
  if (o.deviceId !== undefined && (!(o.deviceId instanceof Uint8Array) || o.deviceId.length < DEVICE_ID_BYTES.min || o.deviceId.length > DEVICE_ID_BYTES.max)) {
    invalid(`deviceId must be a Uint8Array of ${DEVICE_ID_BYTES.min}..${DEVICE_ID_BYTES.max} random bytes (128 bits or more)`);
  }
}

function resolveProfile(p: DeviceOptions['profile']): DeviceProfile {
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

const INPUT_CODEC_TO_WIRE = { raw: pb.InputCodec.INPUT_RAW, downsample: pb.InputCodec.INPUT_DOWNSAMPLE, jpeg: pb.InputCodec.INPUT_JPEG } as const;
const OUTPUT_ENCODING_TO_WIRE = { fp32: pb.OutputEncoding.OUTPUT_FP32, fp16: pb.OutputEncoding.OUTPUT_FP16, int8: pb.OutputEncoding.OUTPUT_INT8 } as const;

/** Opens the bundle, the head and the local full model, and (when given) connects to the edge. */
export async function createDevice(options: DeviceOptions): Promise<Device> {
  if (options === null || typeof options !== 'object') invalid('createDevice needs options: { bundle, edge?, policy?, profile? }');
  if (options.edge !== undefined) checkEdgeUrl(options.edge);
  checkDeviceOptions(options);
  const profile = resolveProfile(options.profile);
  checkPolicy(options.policy, Infinity); // the cheap checks before any file is read; rate points once it is
  const platform = options.platform ?? (await currentPlatform());
  const opened = await openDeviceBundle(options.bundle, options.token, options.fetchTimeoutMs, platform.readFolder);
  const m = opened.manifest;
  const ratePoints: RatePoint[] = resolveRatePoints(m, opened.tables);
  const policy = checkPolicy(options.policy, ratePoints.length);
  const backend = options.backend ? await loadBackend(options.backend) : await platform.backend();
  const backendName = backend.name;
  if (options.headInWorker && (backendName !== 'onnxruntime-node' || !platform.openInWorker))
    invalid('headInWorker needs Node.js and the onnxruntime-node backend');
  const openGraph = async (g: 'head' | 'full', open: () => Promise<ModelSession>): Promise<ModelSession> => {
    try {
      return await open();
    } catch (err) {
      throw new OfframpError('BUNDLE_GRAPH_MISMATCH', `${m.graphs[g].file}: ${backend.name} cannot open it: ${(err as Error).message}`, { cause: err });
    }
  };
  const [head, full]: [ModelSession, ModelSession] = await Promise.all([
    openGraph('head', () => (options.headInWorker ? platform.openInWorker!(opened.graphs.head!) : backend.open(opened.graphs.head!))),
    openGraph('full', () => backend.open(opened.graphs.full!)),
  ]);
  // zstd is optional on a device (a browser may not load it): without it payloads go as they are.
  const zstd: ZstdBackend | undefined = await platform.zstd();
  const deadlineMs = options.deadlineMs ?? 1000;
  const inputEncoding: InputEncoding = options.inputEncoding ?? { codec: 'raw' };
  const encodingProblem = inputEncodingProblem(m.input.raw.shape, inputEncoding);
  if (encodingProblem) invalid(`inputEncoding: ${encodingProblem}`);
  // JPEG (a baseline encoding for full offload) uses jpeg-js, loaded only when asked for.
  const jpeg = inputEncoding.codec === 'jpeg' ? (await import('../bottleneck/jpeg.js')).jpegJs : undefined;
  const offered = m.bottleneck.ratePoints.map((_, i) => i);
  const link = new LinkEstimator();
  const transport = options.edge
    ? new EdgeTransport({
        url: options.edge,
        socket: platform.socket,
        token: options.token,
        clientName: 'offramp-device',
        deviceId: options.deviceId,
        bundle: { id: m.id, version: m.version, manifestSha256: opened.manifestSha256 },
        ratePoints: offered,
        zstd: zstd !== undefined,
        deadlineMs,
        inputEncodings: [
          {
            codec: INPUT_CODEC_TO_WIRE[inputEncoding.codec],
            ...('factor' in inputEncoding ? { factor: inputEncoding.factor, bits: inputEncoding.bits } : {}),
            ...('quality' in inputEncoding ? { quality: inputEncoding.quality } : {}),
          },
        ],
        outputEncoding: OUTPUT_ENCODING_TO_WIRE[options.outputEncoding ?? 'fp32'],
        onRtt: (ms) => link.observeRtt(ms),
        onState: (ready) => link.setAvailable(ready),
      })
    : undefined;

  const inputShape = m.input.shape;
  const inputName = m.graphs.head.inputs[0]!.name;
  const fullInput = m.graphs.full.inputs[0]!.name;
  const isClassifier = m.task === 'classification';
  const classOutput = m.outputs.find((o) => o.kind === 'class-logits')?.name;
  const runHead = (x: Float32Array): ReturnType<ModelSession['run']> => head.run({ [inputName]: { data: x, dims: [1, ...inputShape] } });
  const runFull = (x: Float32Array): ReturnType<ModelSession['run']> => full.run({ [fullInput]: { data: x, dims: [1, ...inputShape] } });
  // The head and the full model are timed warm (the first runs of a session are several times slower).
  const warm = new Float32Array(inputShape.reduce((a, b) => a * b, 1));
  const measured = { headMs: await timeWarm(() => runHead(warm)), localMs: await timeWarm(() => runFull(warm)) };
  const split = new Map<number, number>();
  ratePoints.forEach((rp, i) => {
    const payload = m.bottleneck.ratePoints[i]!.bytes?.mean ?? maxPayloadBytes(m.bottleneck.shape, rp);
    split.set(i, payload + REQUEST_FRAMING + wsClientOverhead(payload + REQUEST_FRAMING));
  });
  const rawBytes = m.input.raw.shape.reduce((a, b) => a * b, 1) * (m.input.raw.dtype === 'float32' ? 4 : 1);
  // Before anything was measured: a class answer, or the tensors at the output encoding's width.
  const outputWidth = { fp32: 4, fp16: 2, int8: 1 }[options.outputEncoding ?? 'fp32'];
  const answerBytes = isClassifierManifest(m)
    ? ANSWER_BYTES
    : m.graphs.tail.outputs.reduce((a, t) => a + t.shape.slice(1).reduce((x, d) => x * Math.max(1, d), 1) * outputWidth, ANSWER_BYTES);
  const costs = new CostTracker(profile.device, { head: m.macs ? m.macs.head + (m.macs.exits ?? 0) : undefined, full: m.macs?.full }, measured, {
    split,
    full: rawBytes + REQUEST_FRAMING + wsClientOverhead(rawBytes),
    down: answerBytes,
  });
  // Without an accuracy per rate point (bundles cut by offramp split state their agreement
  // instead), the policy cannot trade accuracy for bytes: it offloads at the default rate point.
  if (policy.ratePoint === undefined && !m.bottleneck.ratePoints.some((rp) => rp.accuracy !== undefined)) {
    for (const i of [...split.keys()]) if (i !== m.bottleneck.defaultRatePoint) split.delete(i);
  }
  const model: PolicyModel = bundlePolicyModel(m, policy);
  /** Requests sent to the edge: one in TIMINGS_EVERY asks for the server's timings. */
  let sends = 0;
  // Give the handshake a moment, without making a device whose edge is absent wait long.
  await transport?.whenReady(Math.min(1000, deadlineMs));

  const describeModel = `${profile.device.name} (${profile.device.macsPerSecond ? `${profile.device.macsPerSecond / 1e9} GMAC/s modelled` : 'compute measured'}, ${profile.device.activeW} W active, ${profile.device.idleW} W idle) on ${profile.radio.name} (${profile.radio.source}), one inference every ${profile.periodMs || '—'} ms`;
  /**
   * Energy on the profile's device (head/energy.ts: the same function the policy predicts with);
   * the inference's time is its compute plus the transfer's busy time, as the policy counts it.
   */
  const energy = (computeMs: number, transfer?: { up: number; down: number; busyMs: number; promoted: boolean }): InferResult['energy'] => ({
    ...inferenceEnergy(power(profile), {
      computeMs,
      totalMs: computeMs + (transfer?.busyMs ?? 0),
      ...(transfer ? { transfer: { upBytes: transfer.up, downBytes: transfer.down, busyMs: transfer.busyMs, promoted: transfer.promoted } } : {}),
    }),
    model: describeModel,
  });
  const zero = (): InferResult['timings'] => ({ head: 0, encode: 0, network: 0, server: { queue: 0, decode: 0, compute: 0 }, local: 0, total: 0 });

  /** A classifier's answer fields from probabilities. */
  const fromProbs = (p: ArrayLike<number>, o: InferOptions): Pick<InferResult, 'label' | 'labelName' | 'confidence' | 'scores' | 'topK'> => {
    const label = argmax(p);
    return {
      label,
      labelName: m.labels[label],
      confidence: p[label]!,
      scores: Array.from(p),
      ...(o.topK ? { topK: topLabels(p, Math.min(o.topK, p.length)).map((l) => ({ label: l, score: p[l]! })) } : {}),
    };
  };

  /** Finishes on the device with the full model (path 'local', or 'fallback' with the reason). */
  const answerLocally = async (
    x: Float32Array,
    path: 'local' | 'fallback',
    o: InferOptions,
    before: {
      headMs: number;
      headMeasured: number;
      encodeMs?: number;
      t0: number;
      extra?: Partial<InferResult>;
      transfer?: { up: number; down: number; busyMs: number; promoted: boolean };
    },
  ): Promise<InferResult> => {
    const t = performance.now();
    const out = await runFull(x);
    const measuredMs = performance.now() - t;
    costs.observeLocal(measuredMs);
    const localMs = costs.localOn(measuredMs);
    const timings = { ...zero(), head: before.headMs, ...before.extra?.timings, local: localMs };
    timings.total = profile.device.macsPerSecond ? timings.head + timings.encode + (before.transfer?.busyMs ?? 0) + localMs : performance.now() - before.t0;
    const outputs: Record<string, DecodedOutput> = {};
    for (const spec of m.outputs) outputs[spec.name] = { data: out[spec.name]!.data, dims: out[spec.name]!.dims.slice(1) };
    const cls = classOutput ? fromProbs(softmax(out[classOutput]!.data), o) : { label: -1, labelName: undefined, confidence: 0 };
    const tr = before.transfer;
    return {
      payloadBytes: 0,
      bytesUp: 0,
      ...before.extra,
      bytesDown: tr?.down ?? 0,
      ...cls,
      ...(!isClassifier || o.outputs ? { outputs } : {}),
      timings,
      path,
      energy: energy(before.headMs + (before.encodeMs ?? 0) + localMs, tr ? { up: tr.up, down: tr.down, busyMs: tr.busyMs, promoted: tr.promoted } : undefined),
      measured: { head: before.headMeasured, encode: before.encodeMs ?? 0, busy: tr?.busyMs ?? 0, local: measuredMs, wall: performance.now() - before.t0 },
    };
  };

  /** Sends within the deadline (counted from `te`), retrying once after QUEUE_FULL when that still fits. */
  const send = async (edge: EdgeTransport, req: Omit<RequestInit, 'id' | 'deadlineMs'>, te: number): Promise<RequestOutcome> => {
    let o = await edge.request(req, deadlineMs);
    if (!o.ok && o.reason === 'server-error:QUEUE_FULL') {
      const wait = o.retryAfterMs;
      const left = deadlineMs - (performance.now() - te) - wait;
      if (left > 0) {
        const first = o;
        await new Promise((resolve) => setTimeout(resolve, wait));
        o = await edge.request(req, left);
        // Both attempts crossed the link.
        o = {
          ...o,
          bytesUp: o.bytesUp + first.bytesUp,
          ...(o.ok ? { bytesDown: o.bytesDown + (first.bytesDown ?? 0) } : { bytesDown: (o.bytesDown ?? 0) + (first.bytesDown ?? 0) }),
        };
      }
    }
    return o;
  };

  const want = (o: InferOptions): number =>
    (o.scores || o.topK ? pb.Want.WANT_SCORES : 0) | (o.outputs ? pb.Want.WANT_OUTPUTS : 0) | (sends++ % TIMINGS_EVERY === 0 ? pb.Want.WANT_TIMINGS : 0);

  /** The edge's answer as a result; its round trip (and server time, when sent) feed the estimates. */
  const fromEdge = (
    a: Answer,
    o: Extract<RequestOutcome, { ok: true }>,
    key: string,
    ratePoint: string,
    payloadBytes: number,
    opts: InferOptions,
    before: { headMs: number; headMeasured: number; encodeMs: number; t0: number; promoted: boolean },
  ): InferResult => {
    const srv = a.timings;
    const server = { queue: (srv?.queueUs ?? 0) / 1000, decode: (srv?.decodeUs ?? 0) / 1000, compute: (srv?.computeUs ?? 0) / 1000 };
    const serverMs = srv ? server.queue + server.decode + server.compute : undefined;
    costs.observeSend(key, o.ms, serverMs, performance.now(), { up: o.bytesUp, down: o.bytesDown });
    if (serverMs !== undefined) link.observeRequest(o.bytesUp, o.bytesDown, o.ms - serverMs);
    const timings = { ...zero(), head: before.headMs, encode: before.encodeMs, network: o.ms - (serverMs ?? 0), server };
    timings.total = profile.device.macsPerSecond ? before.headMs + before.encodeMs + o.ms : performance.now() - before.t0;
    const outputs: Record<string, DecodedOutput> = {};
    for (const t of a.outputs) outputs[t.name] = decodeOutput(t, zstd);
    let cls: Pick<InferResult, 'label' | 'labelName' | 'confidence' | 'scores' | 'topK'> = { label: -1, labelName: undefined, confidence: 0 };
    if (isClassifier) {
      cls = { label: a.label, labelName: m.labels[a.label], confidence: confidenceFromWire(a.confidence) };
      if (a.topLabels.length) cls.topK = a.topLabels.map((l, i) => ({ label: l, score: a.scores[i] ?? 0 }));
      else if (a.scores.length) {
        cls.scores = [...a.scores];
        // Every score came: the top k are read from them (the wire carries scores of all labels or of the top k, not both).
        if (opts.topK) cls.topK = topLabels(a.scores, Math.min(opts.topK, a.scores.length)).map((l) => ({ label: l, score: a.scores[l]! }));
      }
    }
    return {
      ...cls,
      ...(a.outputs.length ? { outputs } : {}),
      path: 'edge',
      ratePoint,
      payloadBytes,
      bytesUp: o.bytesUp,
      bytesDown: o.bytesDown,
      timings,
      energy: energy(before.headMs + before.encodeMs, { up: o.bytesUp, down: o.bytesDown, busyMs: o.ms, promoted: before.promoted }),
      measured: { head: before.headMeasured, encode: before.encodeMs, busy: o.ms, local: 0, wall: performance.now() - before.t0 },
    };
  };

  const promotedNow = (): boolean => costs.inputs(performance.now()).sinceTransferMs > profile.radio.tailMs;

  return {
    manifest: m,
    backend: backendName,
    profile,
    get connected() {
      return transport?.ready ?? false;
    },
    whenConnected: (timeoutMs) => transport?.whenReady(timeoutMs) ?? Promise.resolve(false),
    async infer(sample, opts = {}) {
      const t0 = performance.now();
      const { x, raw } = checkSample(sample, m);
      if (opts.topK !== undefined && !(Number.isInteger(opts.topK) && opts.topK >= 0)) invalid(`topK must be a non-negative integer, got ${opts.topK}`);
      costs.sinceLocal++;
      const now = performance.now();
      const inputs = costs.inputs(now);
      // Baselines that skip the head: the whole local model, or the raw input to the edge's full model.
      if (policy.force === 'always-local') return answerLocally(x, 'local', opts, { headMs: 0, headMeasured: 0, t0 });
      if (policy.force === 'full-offload' && !transport)
        return answerLocally(x, 'fallback', opts, { headMs: 0, headMeasured: 0, t0, extra: { reason: 'disconnected', ratePoint: 'input' } });
      // The adaptive policy may also skip the head, when sending the raw input is expected to win.
      // A path it keeps avoiding is never re-timed, so a high estimate would stick: every
      // STALE_AFTER requests without running the head, take it once.
      const estimate = link.estimate();
      const rawFirst = transport?.ready === true && !costs.stale('head') && fullOffloadFirst(model, inputs, estimate, profile, policy);
      if ((policy.force === 'full-offload' || rawFirst) && transport) {
        if (rawFirst) costs.sinceHead++;
        const te = performance.now();
        const enc = encodeInput(raw(), m.input.raw.shape, inputEncoding, { zstd: transport.terms?.zstd ? zstd : undefined, jpeg });
        const encodeMs = performance.now() - te;
        const promoted = promotedNow();
        const o = await send(
          transport,
          { graph: pb.Graph.GRAPH_FULL, rate: 0, payload: enc.payload, zstd: enc.zstd, want: want(opts), topK: opts.scores ? 0 : (opts.topK ?? 0) },
          te,
        );
        if (!o.ok) {
          costs.observeTransfer(performance.now());
          return answerLocally(x, 'fallback', opts, {
            headMs: 0,
            headMeasured: 0,
            encodeMs,
            t0,
            extra: { reason: o.reason, ratePoint: 'input', payloadBytes: enc.payload.length, bytesUp: o.bytesUp, timings: { ...zero(), encode: encodeMs } },
            transfer: { up: o.bytesUp, down: o.bytesDown ?? 0, busyMs: performance.now() - te - encodeMs, promoted },
          });
        }
        return fromEdge(o.answer, o, 'full', 'input', enc.payload.length, opts, { headMs: 0, headMeasured: 0, encodeMs, t0, promoted });
      }
      const th = performance.now();
      const h = await runHead(x);
      const headMeasured = performance.now() - th;
      costs.observeHead(headMeasured);
      const headMs = costs.headOn(headMeasured);
      const exits = m.exits.map((e) => exitDecision(h[e.output]!.data, Infinity));
      // With an edge configured, decide as if it were reachable: when it is not, an offload
      // decision becomes a local answer with the reason (path 'fallback').
      const d = decide(model, exits, costs.inputs(performance.now()), transport ? { ...estimate, available: true } : estimate, profile, policy);
      if (d.kind === 'exit') {
        const probs = exits[d.exit]!.probs;
        const timings = { ...zero(), head: headMs, total: profile.device.macsPerSecond ? headMs : performance.now() - t0 };
        return {
          ...fromProbs(probs, opts),
          timings,
          path: `exit:${d.exit}`,
          payloadBytes: 0,
          bytesUp: 0,
          bytesDown: 0,
          energy: energy(headMs),
          measured: { head: headMeasured, encode: 0, busy: 0, local: 0, wall: performance.now() - t0 },
        };
      }
      if (d.kind === 'local' || (policy.force === undefined && costs.stale('local'))) return answerLocally(x, 'local', opts, { headMs, headMeasured, t0 });
      const rpId = m.bottleneck.ratePoints[d.ratePoint]!.id;
      if (!transport) return answerLocally(x, 'fallback', opts, { headMs, headMeasured, t0, extra: { reason: 'disconnected', ratePoint: rpId } });
      const te = performance.now();
      const enc = encodeFeatures(h[m.bottleneck.headOutput]!.data, m.bottleneck.shape, ratePoints[d.ratePoint]!, {
        zstd: transport.terms?.zstd ? zstd : undefined,
      });
      const encodeMs = performance.now() - te;
      const promoted = promotedNow();
      const o = await send(
        transport,
        { rate: d.ratePoint, payload: enc.payload, zstd: enc.zstd, want: want(opts), topK: opts.scores ? 0 : (opts.topK ?? 0) },
        te,
      );
      if (!o.ok) {
        costs.observeTransfer(performance.now());
        return answerLocally(x, 'fallback', opts, {
          headMs,
          headMeasured,
          encodeMs,
          t0,
          extra: {
            reason: o.reason,
            ratePoint: rpId,
            payloadBytes: enc.payload.length,
            bytesUp: o.bytesUp,
            timings: { ...zero(), head: headMs, encode: encodeMs },
          },
          transfer: { up: o.bytesUp, down: o.bytesDown ?? 0, busyMs: performance.now() - te - encodeMs, promoted },
        });
      }
      return fromEdge(o.answer, o, String(d.ratePoint), rpId, enc.payload.length, opts, { headMs, headMeasured, encodeMs, t0, promoted });
    },
    async close() {
      await transport?.close();
      await Promise.all([head.release(), full.release()]);
    },
  };
}
