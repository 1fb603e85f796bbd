/**
 * `createDevice`: the device SDK. Runs the head and its exits on the device; when no exit is
 * confident, the policy picks offloading (and the bit width) or finishing locally. Every
 * `infer()` resolves: when the edge does not answer in time, disconnects or refuses, the device
 * answers from its local full model (path 'fallback', with the reason).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeFeatures, encodeRawSample } from '../bottleneck/codec.js';
import { loadZstd, type ZstdBackend } from '../bottleneck/zstd.js';
import { loadBundle, manifestFromBytes } from '../protocol/bundle.js';
import { sha256HexAsync } from '../protocol/digest.js';
import { OfframpError } from '../protocol/errors.js';
import type { Manifest } from '../protocol/manifest.js';
import { packedByteLength, type InferRequest } from '../protocol/messages.js';
import { denormalizeToUint8, normalizeInto } from '../protocol/normalize.js';
import { argmax, softmax } from '../protocol/scores.js';
import { loadBackend, type BackendName } from './backend.js';
import { exitDecision } from './exit.js';
import { LinkEstimator } from './link.js';
import { decide, fullOffloadFirst, policyModel, radioActiveEnergyJ, radioEnergyJ, RADIOS, type CostInputs, type DeviceProfile, type PolicyOptions } from './policy.js';
import { EdgeTransport, type FailureReason, type RequestOutcome } from './transport.js';

/** A bundle held in memory: its files by name (`manifest.json`, `head.onnx`, …). */
export interface InMemoryBundle {
  files: Record<string, Uint8Array>;
}

export interface DeviceOptions {
  /**
   * Bundle folder; an http(s) URL of one (e.g. an edge's `/v1/models/<id>/<version>/`: manifest,
   * head and full model are fetched); or its files in memory. Verified every way (schema, sha256
   * of every file used).
   */
  bundle: string | URL | InMemoryBundle;
  /** ws:// or wss:// URL of an edge; absent: the device never offloads. */
  edge?: string;
  token?: string;
  policy?: Partial<PolicyOptions>;
  /** Default: onnxruntime-node in Node.js, onnxruntime-web (wasm) in browsers; either can be forced. */
  backend?: BackendName;
  /** Node.js with onnxruntime-node: run the head in a worker thread so the event loop stays free. */
  headInWorker?: boolean;
  /** Power model for the energy estimate. Default: this host at 5 W with an LTE radio. */
  profile?: DeviceProfile;
  /** For a bundle URL: how long fetching each file may take, ms. Default 30000. */
  fetchTimeoutMs?: number;
  /** Every infer() answers within this many ms of the head finishing (edge or fallback). Default 1000. */
  deadlineMs?: number;
}

export type InferPath = `exit:${number}` | 'edge' | 'local' | 'fallback';

export interface InferResult {
  label: number;
  scores: number[];
  path: InferPath;
  reason?: FailureReason;
  bits?: number;
  bytesUp: number;
  bytesDown: number;
  timings: { head: number; encode: number; network: number; server: { queue: number; decode: number; compute: number }; local: number; total: number };
  energy: { computeJ: number; radioJ: number; totalJ: number; model: string };
}

export interface Device {
  readonly manifest: Manifest;
  readonly backend: BackendName;
  infer(image: Uint8Array | Float32Array): Promise<InferResult>;
  /** True while handshaken with the edge. */
  readonly connected: boolean;
  /** Resolves true once connected, false after `timeoutMs` (or at once without an edge). */
  whenConnected(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Running in Node.js (folders and onnxruntime-node available) rather than a browser. */
const IS_NODE = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
const HOST_PROFILE: DeviceProfile = { name: 'host (5 W compute, LTE radio)', computePowerW: 5, radio: RADIOS.lte };
/** Frame overhead beyond the payload (ids, names, quantization fields), for the policy's byte estimate. */
const FRAME_OVERHEAD = 64;
/** Requests after which the adaptive policy re-times a path it has been avoiding (the head, the local model). */
export const STALE_AFTER = 50;

/** Fresh all-zero timings (each result owns its objects). */
function zeroTimings(): InferResult['timings'] {
  return { head: 0, encode: 0, network: 0, server: { queue: 0, decode: 0, compute: 0 }, local: 0, total: 0 };
}

function ewma(old: number, sample: number): number {
  return old + 0.2 * (sample - old);
}

/** Fetches a bundle's manifest and the graphs a device runs from `url` (a folder URL). */
export async function fetchBundle(url: string | URL, token?: string, timeoutMs = 30_000): Promise<InMemoryBundle> {
  const base = new URL(String(url).endsWith('/') ? String(url) : `${String(url)}/`);
  const get = async (name: string): Promise<Uint8Array> => {
    try {
      // One deadline for the whole file, body included: a server that stalls cannot hang createDevice.
      const signal = AbortSignal.timeout(timeoutMs);
      const res = await fetch(new URL(encodeURIComponent(name), base), { signal, ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}) });
      if (!res.ok) throw new OfframpError('BUNDLE_FILE_MISSING', `${name}: ${base.href} answered ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      if (e instanceof OfframpError) throw e;
      const why = (e as Error).name === 'TimeoutError' ? `no complete answer within ${timeoutMs} ms` : (e as Error).message;
      throw new OfframpError('BUNDLE_FILE_MISSING', `${name}: cannot fetch from ${base.href}: ${why}`, { cause: e });
    }
  };
  const manifestBytes = await get('manifest.json');
  const m = manifestFromBytes(manifestBytes, new URL('manifest.json', base).href);
  const [head, full] = await Promise.all([get(m.graphs.head.file), get(m.graphs.full.file)]);
  return { files: { 'manifest.json': manifestBytes, [m.graphs.head.file]: head, [m.graphs.full.file]: full } };
}

/** The manifest, its hash and the verified bytes of the graphs the device runs. */
async function readBundle(source: string | URL | InMemoryBundle, token?: string, fetchTimeoutMs?: number): Promise<{ manifest: Manifest; manifestSha256: string; head: Uint8Array; full: Uint8Array }> {
  if (source instanceof URL || (typeof source === 'string' && /^https?:\/\//i.test(source))) source = await fetchBundle(source, token, fetchTimeoutMs);
  if (typeof source === 'string') {
    const b = await loadBundle(source, { checkGraphs: false });
    const [head, full] = await Promise.all([readFile(join(source, b.manifest.graphs.head.file)), readFile(join(source, b.manifest.graphs.full.file))]);
    return { manifest: b.manifest, manifestSha256: b.manifestSha256, head, full };
  }
  const file = (name: string): Uint8Array => {
    const bytes = source.files[name];
    if (!bytes) throw new OfframpError('BUNDLE_FILE_MISSING', `the in-memory bundle has no ${name}`);
    return bytes;
  };
  const manifestBytes = file('manifest.json');
  const manifest = manifestFromBytes(manifestBytes);
  const verified = async (g: 'head' | 'full'): Promise<Uint8Array> => {
    const spec = manifest.graphs[g];
    const bytes = file(spec.file);
    const actual = await sha256HexAsync(bytes);
    if (actual !== spec.sha256) throw new OfframpError('BUNDLE_HASH_MISMATCH', `${spec.file}: sha256 is ${actual}; the manifest says ${spec.sha256}`);
    return bytes;
  };
  const [manifestSha256, head, full] = await Promise.all([sha256HexAsync(manifestBytes), verified('head'), verified('full')]);
  return { manifest, manifestSha256, head, full };
}

/** Opens the bundle, the head and the local full model, and (when given) connects to the edge. */
export async function createDevice(options: DeviceOptions): Promise<Device> {
  const bundle = await readBundle(options.bundle, options.token, options.fetchTimeoutMs);
  const m = bundle.manifest;
  const backendName: BackendName = options.backend ?? (IS_NODE ? 'onnxruntime-node' : 'onnxruntime-web');
  const backend = await loadBackend(backendName);
  if (options.headInWorker && backendName !== 'onnxruntime-node') throw new RangeError('headInWorker needs the onnxruntime-node backend');
  const [head, full] = await Promise.all([
    options.headInWorker ? (await import('./worker-session.js')).openInWorker(bundle.head) : backend.open(bundle.head),
    backend.open(bundle.full),
  ]);
  // zstd is optional on a device (browsers may not load it): without it payloads go uncompressed.
  const zstd: ZstdBackend | undefined = await loadZstd().catch(() => undefined);
  const policy: PolicyOptions = { objective: 'latency', maxAccuracyLoss: 0.005, ...options.policy };
  const model = policyModel(m, policy.maxAccuracyLoss);
  const profile = options.profile ?? HOST_PROFILE;
  const slowdown = profile.computeSlowdown ?? 1;
  const deadlineMs = options.deadlineMs ?? 1000;
  const link = new LinkEstimator();
  const transport = options.edge
    ? new EdgeTransport({
        url: options.edge, token: options.token, clientName: 'offramp-device',
        bundle: { id: m.id, version: m.version, manifestSha256: bundle.manifestSha256 },
        codecs: zstd ? ['none', 'zstd'] : ['none'], bitWidths: m.bottleneck.bits,
        onRtt: (ms) => link.observeRtt(ms), onState: (ready) => link.setAvailable(ready),
      })
    : undefined;
  const inSize = m.input.shape.reduce((a, b) => a * b, 1);
  const featShape = [1, ...m.bottleneck.shape];
  const featValues = m.bottleneck.shape.reduce((a, b) => a * b, 1);
  const inputName = m.graphs.head.inputs[0]!.name;
  const fullInput = m.graphs.full.inputs[0]!.name;
  const fullOutput = m.graphs.full.outputs[0]!.name;
  const requestBytes: Record<number, number> = {};
  for (const b of m.bottleneck.bits) requestBytes[b] = packedByteLength(featValues, b) + FRAME_OVERHEAD;
  const responseBytes = m.labels.length * 5 + 32;
  const rawRequestBytes = inSize + FRAME_OVERHEAD;

  const toInput = (image: Uint8Array | Float32Array): Float32Array => {
    if (image.length !== inSize) throw new RangeError(`input has ${image.length} values; ${m.id} takes ${inSize}`);
    return image instanceof Float32Array ? image : normalizeInto(image, m.input, new Float32Array(inSize));
  };
  const runLocal = async (x: Float32Array): Promise<{ scores: Float32Array; ms: number }> => {
    const t0 = performance.now();
    const out = await full.run({ [fullInput]: { data: x, dims: [1, ...m.input.shape] } });
    return { scores: softmax(out[fullOutput]!.data), ms: performance.now() - t0 };
  };
  // Measured costs the policy weighs: the head and the full model are each run once to warm them,
  // then timed three times (the median starts each estimate); the estimates then follow every run
  // (EWMA). The first runs of a session are several times slower (measured: fmnist-b32's head
  // 2.96 ms on its second run vs ~0.45 ms warm), and a cold start would linger: a path the policy
  // then avoids is never re-timed.
  const warm = new Float32Array(inSize);
  const runHead = (x: Float32Array): ReturnType<typeof head.run> => head.run({ [inputName]: { data: x, dims: [1, ...m.input.shape] } });
  const timeWarm = async (run: () => Promise<unknown>): Promise<number> => {
    await run();
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await run();
      ms.push(performance.now() - t);
    }
    return ms.sort((a, b) => a - b)[1]!;
  };
  let headMsEwma = await timeWarm(() => runHead(warm));
  let localMs = await timeWarm(() => runLocal(warm));
  let serverMs = 1;
  let fullServerMs = 1;
  /** Requests since the head, and since the local model, last ran (adaptive policy only). */
  let sinceHead = 0;
  let sinceLocal = 0;
  // Give the handshake a moment, without making a device whose edge is absent wait long.
  await transport?.whenReady(Math.min(1000, deadlineMs));

  /** `busyMs`: how long the radio was up (request to answer); estimated from the link when unknown. */
  const energy = (computeMs: number, up: number, down: number, busyMs?: number): InferResult['energy'] => {
    const computeJ = (profile.computePowerW * computeMs * slowdown) / 1000;
    const radioJ = up + down === 0 ? 0 : busyMs !== undefined ? radioActiveEnergyJ(profile.radio, up, busyMs / 1000) : radioEnergyJ(profile.radio, link.estimate(), up, down);
    return { computeJ, radioJ, totalJ: computeJ + radioJ, model: `${profile.name}: compute ${profile.computePowerW} W × device time${slowdown !== 1 ? ` (measured × ${slowdown}, modelled)` : ''}; radio P = ${profile.radio.alphaUpMwPerMbps} mW/Mbps × throughput + ${profile.radio.betaMw} mW (${profile.radio.name})` };
  };

  /** Finishes on the device with the full model (path 'local', or 'fallback' with the reason). */
  const answerLocally = async (x: Float32Array, t0: number, path: 'local' | 'fallback', headMs: number, extra: Partial<InferResult>): Promise<InferResult> => {
    const r = await runLocal(x);
    localMs = ewma(localMs, r.ms);
    sinceLocal = 0;
    const timings = { ...zeroTimings(), head: headMs, ...extra.timings, local: r.ms, total: performance.now() - t0 };
    const scores = Array.from(r.scores);
    return { bytesUp: 0, bytesDown: 0, ...extra, timings, label: argmax(scores), scores, path, energy: energy(headMs + r.ms, extra.bytesUp ?? 0, extra.bytesDown ?? 0) };
  };
  /** Sends `req` within the deadline (counted from `te`), retrying once after QUEUE_FULL when that still fits. */
  const send = async (edge: EdgeTransport, req: Omit<InferRequest, 'id' | 'deadlineMs'>, te: number): Promise<RequestOutcome> => {
    let o = await edge.request(req, deadlineMs);
    if (!o.ok && o.reason === 'server-error:QUEUE_FULL') {
      const wait = o.retryAfterMs;
      const left = deadlineMs - (performance.now() - te) - wait;
      if (left > 0) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        o = await edge.request(req, left);
      }
    }
    return o;
  };
  /** The edge's answer as a result; the server time feeds the estimate of the graph it ran. */
  const fromEdge = (o: Extract<RequestOutcome, { ok: true }>, graph: 'tail' | 'full', bits: number, t0: number, headMs: number, encodeMs: number): InferResult => {
    const srv = o.response.timings;
    const server = { queue: srv.queueUs / 1000, decode: srv.decodeUs / 1000, compute: srv.computeUs / 1000 };
    const serverTotal = server.queue + server.decode + server.compute;
    if (graph === 'tail') serverMs = ewma(serverMs, serverTotal);
    else fullServerMs = ewma(fullServerMs, serverTotal);
    link.observeRequest(o.bytesUp, o.bytesDown, o.ms - serverTotal);
    return {
      label: o.response.label, scores: o.response.scores, path: 'edge', bits, bytesUp: o.bytesUp, bytesDown: o.bytesDown,
      timings: { ...zeroTimings(), head: headMs, encode: encodeMs, network: o.ms - serverTotal, server, total: performance.now() - t0 },
      energy: energy(headMs + encodeMs, o.bytesUp, o.bytesDown, o.ms),
    };
  };

  return {
    manifest: m,
    backend: backendName,
    get connected() {
      return transport?.ready ?? false;
    },
    whenConnected: (timeoutMs) => transport?.whenReady(timeoutMs) ?? Promise.resolve(false),
    async infer(image) {
      const t0 = performance.now();
      const x = toInput(image);
      const costs: CostInputs = { localMs: localMs * slowdown, serverMs, requestBytes, responseBytes };
      sinceLocal++;
      // Baselines that skip the head: the whole local model, or the raw input to the edge's full model.
      if (policy.force === 'always-local' || (policy.force === 'full-offload' && !transport)) return answerLocally(x, t0, 'local', 0, {});
      // The adaptive policy may also skip the head, when sending the raw input is expected to win.
      // A path the policy keeps avoiding is never re-timed, so a high estimate would stick: every
      // STALE_AFTER requests without running the head (or the local model), take it once.
      const rawFirst = transport?.ready === true && sinceHead < STALE_AFTER && fullOffloadFirst(model, costs, { headMs: headMsEwma * slowdown, rawRequestBytes, fullServerMs }, link.estimate(), profile, policy);
      if ((policy.force === 'full-offload' || rawFirst) && transport) {
        if (rawFirst) sinceHead++;
        const te = performance.now();
        const raw = image instanceof Uint8Array ? image : denormalizeToUint8(image, m.input);
        const enc = encodeRawSample(raw, [1, ...m.input.shape], zstd);
        const encodeMs = performance.now() - te;
        const o = await send(transport, { type: 'inferRequest', name: fullInput, datatype: 'FP32', encoding: enc.meta, raw: enc.bytes, exitIndex: -1, exitConfidence: 0, graph: 'full' }, te);
        if (!o.ok) return answerLocally(x, t0, 'fallback', 0, { reason: o.reason, bits: 8, bytesUp: o.bytesUp, timings: { ...zeroTimings(), encode: encodeMs } });
        return fromEdge(o, 'full', 8, t0, 0, encodeMs);
      }
      const h = await runHead(x);
      const headMs = performance.now() - t0;
      headMsEwma = ewma(headMsEwma, headMs);
      sinceHead = 0;
      const exits = m.exits.map((e) => exitDecision(h[e.output]!.data, Infinity));
      // With an edge configured, decide as if it were reachable: when it is not, an offload
      // decision becomes a local answer with the reason (path 'fallback').
      const estimate = transport ? { ...link.estimate(), available: true } : link.estimate();
      const d = decide(model, exits, costs, estimate, profile, policy);
      if (d.kind === 'exit') {
        const scores = Array.from(exits[d.exit]!.probs); // already computed for the decision
        return { bytesUp: 0, bytesDown: 0, timings: { ...zeroTimings(), head: headMs, total: performance.now() - t0 }, label: d.label, scores, path: `exit:${d.exit}`, energy: energy(headMs, 0, 0) };
      }
      if (d.kind === 'local' || !transport || (policy.force === undefined && sinceLocal >= STALE_AFTER)) return answerLocally(x, t0, 'local', headMs, {});
      const te = performance.now();
      const enc = encodeFeatures(h[m.bottleneck.headOutput]!.data, { shape: featShape, bits: d.bits, range: m.bottleneck.range }, zstd);
      const encodeMs = performance.now() - te;
      const req: Omit<InferRequest, 'id' | 'deadlineMs'> = {
        type: 'inferRequest', name: m.bottleneck.tailInput, datatype: 'FP32', encoding: enc.meta, raw: enc.bytes,
        exitIndex: exits.length ? 0 : -1, exitConfidence: exits[0]?.confidence ?? 0, graph: 'tail',
      };
      const o = await send(transport, req, te);
      if (!o.ok) return answerLocally(x, t0, 'fallback', headMs, { reason: o.reason, bits: d.bits, bytesUp: o.bytesUp, timings: { ...zeroTimings(), head: headMs, encode: encodeMs } });
      return fromEdge(o, 'tail', d.bits, t0, headMs, encodeMs);
    },
    async close() {
      await transport?.close();
      await Promise.all([head.release(), full.release()]);
    },
  };
}
