/**
 * The device SDK's public types: what `createDevice` takes (DeviceOptions), what `infer()` takes
 * and answers (InferOptions, InferResult) and the Device itself. head/device.ts builds one;
 * docs/API.md documents every field.
 */
import type { InputEncoding } from '../bottleneck/input.js';
import type { DecodedOutput } from '../bottleneck/outputs.js';
import type { Manifest } from '../protocol/manifest.js';
import type { BackendName } from './backend.js';
import type { BundleSource } from './bundle-source.js';
import type { DeviceProfile, LinkName } from './devices.js';
import type { Sample } from './input.js';
import type { Platform } from './platform.js';
import type { PolicyOptions } from './policy.js';
import type { FailureReason } from './transport.js';

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
  /**
   * ms `createDevice` waits for the edge's handshake before it resolves (default min(1000,
   * `deadlineMs`)); 0 resolves at once and the device connects in the background (until then its
   * requests are answered locally, as with an unreachable edge). `whenConnected` waits for it.
   */
  connectWaitMs?: number;
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
