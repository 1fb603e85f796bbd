/**
 * A raw protocol v2 client for the edge tests: a real `ws` socket offering `offramp.v2`, every
 * frame it receives kept (bytes and decoded message), and helpers that send a request and wait
 * for the one outcome with its id. No SDK logic: frames go out exactly as the test builds them.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, type ClientOptions } from 'ws';
import { encodeFeatures, encodeInput, resolveRatePoints, type InputEncoding, type RatePoint, type ZstdBackend } from '../../bottleneck/index.js';
import { loadBundle, type LoadedBundle } from '../../protocol/bundle.js';
import { createEdgeServer, type EdgeServer, type EdgeServerOptions } from '../../tail/index.js';
import {
  decodeFrame,
  encodeFrame,
  errorCodeFromWire,
  pb,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  type Answer,
  type BundleRef,
  type HelloAck,
  type HelloInit,
  type Message,
  type MessageInit,
  type RequestInit,
  type WireError,
} from '../../protocol/index.js';

/** test/fixtures: a models folder whose one bundle is the tiny one. */
export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
/** The tiny test bundle (test/fixtures/tiny). */
export const TINY = join(FIXTURES, 'tiny');

/** test/fixtures/tiny/golden.json, written by the exporter (PyTorch's numbers). */
export interface Golden {
  images: number[][];
  labels: number[];
  latent: number[][];
  exit0Logits: number[][];
  fullLogits: number[][];
  rates: {
    s1: { step: number; symbols: number[][]; payloads: string[]; tailLogits: number[][] };
    u4: { tailLogits: number[][] };
    f16: { tailLogits: number[][] };
  };
  splitPredictions: Record<string, number[]>;
}

export async function tinyGolden(dir = TINY): Promise<Golden> {
  return JSON.parse(await readFile(join(dir, 'golden.json'), 'utf8')) as Golden;
}

/** A temporary models folder holding a copy of the tiny bundle, its loaded copy and golden data. */
export async function tinyModels(): Promise<{ models: string; bundle: LoadedBundle; golden: Golden; cleanup: () => Promise<void> }> {
  const models = await mkdtemp(join(tmpdir(), 'offramp-models-'));
  await cp(TINY, join(models, 'tiny'), { recursive: true });
  return {
    models,
    bundle: await loadBundle(join(models, 'tiny')),
    golden: await tinyGolden(TINY),
    cleanup: () => rm(models, { recursive: true, force: true }),
  };
}

/** The Hello's bundle reference for a loaded bundle. */
export function bundleRef(b: LoadedBundle): BundleRef {
  return { id: b.manifest.id, version: b.manifest.version, manifestSha256: b.manifestSha256 };
}

/** The raw input encodings a test Hello offers by default: request rate k names entry k. */
export const RAW = { codec: pb.InputCodec.INPUT_RAW };

/** A Hello for `b`: every rate point, raw input (index 0), no zstd, fp32 outputs; `over` wins. */
export function helloFor(b: LoadedBundle, over: Partial<HelloInit> = {}): HelloInit {
  return {
    protocolVersion: PROTOCOL_VERSION,
    clientName: 'test',
    clientVersion: '0',
    bundle: bundleRef(b),
    ratePoints: b.manifest.bottleneck.ratePoints.map((_, i) => i),
    inputEncodings: [RAW],
    ...over,
  };
}

/** One received frame: its bytes and what they decode to. */
export interface Received {
  bytes: Uint8Array;
  message: Message;
}

/** The outcome of one request: its Answer or its Error. */
export type Outcome = { type: 'answer'; answer: Answer } | { type: 'error'; error: WireError };

/** The error code's name of a wire Error. */
export function codeOf(e: WireError): string {
  return errorCodeFromWire(e.code) ?? `unknown ${e.code}`;
}

/**
 * The Answer in `o` as a plain object with every field (decoded messages keep proto3 defaults
 * on their prototype, which toEqual would not see), or a failure that shows the error instead.
 */
export function answerOf(o: Message | Outcome): Answer {
  if (o.type !== 'answer') throw new Error(`expected an answer, got ${describe(o)}`);
  const a = o.answer;
  const t = a.timings;
  return {
    id: a.id,
    label: a.label,
    confidence: a.confidence,
    topLabels: [...a.topLabels],
    scores: [...a.scores],
    timings: t ? { queueUs: t.queueUs, decodeUs: t.decodeUs, computeUs: t.computeUs, batchSize: t.batchSize } : null,
    outputs: a.outputs.map((x) => ({
      name: x.name,
      dtype: x.dtype,
      shape: [...x.shape],
      encoding: x.encoding,
      scale: x.scale,
      zeroPoint: x.zeroPoint,
      zstd: x.zstd,
      data: x.data,
    })),
  };
}

/** The Error in `o` as a plain object, with its code's name, or a failure that shows what came instead. */
export function errorOf(o: Message | Outcome): WireError & { name: string } {
  if (o.type !== 'error') throw new Error(`expected an error, got ${describe(o)}`);
  const e = o.error;
  return { id: e.id, code: e.code, message: e.message, retryAfterMs: e.retryAfterMs, supportedVersions: [...e.supportedVersions], name: codeOf(e) };
}

function describe(m: Message | Outcome): string {
  if (m.type === 'error') return `error ${codeOf(m.error)} (id ${m.error.id}): ${m.error.message}`;
  return `${m.type} ${JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 300)}`;
}

/** The id a received message carries (answers and errors), else undefined. */
function idOf(m: Message): number | undefined {
  return m.type === 'answer' ? m.answer.id : m.type === 'error' ? m.error.id : undefined;
}

export class TestClient {
  /** Every frame received, in order (never consumed). */
  readonly received: Received[] = [];
  /** Frames not yet taken by next(). */
  private unread: Received[] = [];
  private waiters: { match: (m: Message) => boolean; resolve: (r: Received) => void; reject: (e: Error) => void }[] = [];
  /** Resolves with the close code and reason once the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private isClosed = false;

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      const r = decodeFrame(data);
      if (!r.ok) throw new Error(`the edge sent a frame this client cannot decode: ${r.error.message}`);
      const got: Received = { bytes: Uint8Array.from(data), message: r.message };
      this.received.push(got);
      const w = this.waiters.find((x) => x.match(r.message));
      if (w) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(got);
      } else this.unread.push(got);
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.isClosed = true;
        for (const w of this.waiters.splice(0)) w.reject(new Error(`the connection closed (${code} ${reason.toString()}) before the frame awaited`));
        resolve({ code, reason: reason.toString() });
      }),
    );
    ws.on('error', () => {}); // surfaced as 'close' (or as open()'s rejection)
  }

  /** Opens a socket offering `protocols` (default offramp.v2); rejects with `HTTP <status>` when the upgrade is refused. */
  static open(url: string, options: ClientOptions = {}, protocols: string[] = [SUBPROTOCOL]): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
      const c = new TestClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`HTTP ${res.statusCode}`));
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  /** The next frame (already received or future) matching `match`, taken from the unread ones. */
  nextFrame(match: (m: Message) => boolean = () => true): Promise<Received> {
    const i = this.unread.findIndex((r) => match(r.message));
    if (i >= 0) return Promise.resolve(this.unread.splice(i, 1)[0]!);
    if (this.isClosed) return Promise.reject(new Error('the connection is closed'));
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  }

  async next(match: (m: Message) => boolean = () => true): Promise<Message> {
    return (await this.nextFrame(match)).message;
  }

  /** The outcome (Answer or Error) of request `id`. */
  async outcome(id: number): Promise<Outcome> {
    return (await this.next((m) => idOf(m) === id)) as Outcome;
  }

  /** Every received answer or error carrying `id` so far. */
  outcomesOf(id: number): Message[] {
    return this.received.map((r) => r.message).filter((m) => idOf(m) === id);
  }

  send(m: MessageInit): void {
    this.ws.send(encodeFrame(m));
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Sends a request. */
  request(r: RequestInit): void {
    this.send({ type: 'request', request: r });
  }

  /** Sends a request and waits for its outcome. */
  call(r: RequestInit): Promise<Outcome> {
    this.request(r);
    return this.outcome(r.id ?? 0);
  }

  /** Sends a Hello (`helloFor(b, over)`) and waits for the HelloAck or the refusal. */
  async hello(b: LoadedBundle, over: Partial<HelloInit> = {}): Promise<Message> {
    this.send({ type: 'hello', hello: helloFor(b, over) });
    return this.next((m) => m.type === 'helloAck' || m.type === 'error');
  }

  close(): void {
    this.ws.close();
  }
}

/** Opens a connection and completes the handshake; fails on a refusal. */
export async function connect(
  url: string,
  b: LoadedBundle,
  over: Partial<HelloInit> = {},
  options: ClientOptions = {},
): Promise<{ c: TestClient; ack: HelloAck }> {
  const c = await TestClient.open(url, options);
  const m = await c.hello(b, over);
  if (m.type !== 'helloAck') throw new Error(`the Hello was refused: ${describe(m)}`);
  return { c, ack: m.helloAck };
}

/** The bundle's rate points, resolved (entropy tables loaded). */
export function ratePointsOf(b: LoadedBundle): RatePoint[] {
  return resolveRatePoints(b.manifest, b.tables);
}

/** The codec's payload of one sample's features at rate point `rate` (zstd-wrapped when `zstd` is given and that is smaller). */
export function featurePayload(b: LoadedBundle, features: ArrayLike<number>, rate: number, zstd?: ZstdBackend): { payload: Uint8Array; zstd: boolean } {
  return encodeFeatures(Float32Array.from(features), b.manifest.bottleneck.shape, ratePointsOf(b)[rate]!, zstd ? { zstd, zstdMinBytes: 1 } : {});
}

/** A split request (GRAPH_TAIL) for `features` at rate point `rate`; `over` wins. */
export function splitRequest(
  b: LoadedBundle,
  id: number,
  features: ArrayLike<number>,
  rate: number,
  over: Partial<RequestInit> = {},
  zstd?: ZstdBackend,
): RequestInit {
  const enc = featurePayload(b, features, rate, zstd);
  return { id, payload: enc.payload, rate, ...(enc.zstd ? { zstd: true } : {}), ...over };
}

/** A full-offload request (GRAPH_FULL) for one raw uint8 sample in `encoding`, named by Hello index `rate`. */
export function fullRequest(
  b: LoadedBundle,
  id: number,
  image: ArrayLike<number>,
  rate = 0,
  encoding: InputEncoding = { codec: 'raw' },
  over: Partial<RequestInit> = {},
  options: Parameters<typeof encodeInput>[3] = {},
): RequestInit {
  const enc = encodeInput(Uint8Array.from(image), b.manifest.input.raw.shape, encoding, options);
  return { id, graph: pb.Graph.GRAPH_FULL, rate, payload: enc.payload, ...(enc.zstd ? { zstd: true } : {}), ...over };
}

/**
 * A received frame as a plain object with every field (proto3 defaults filled in, enums as
 * numbers, bytes as Uint8Array): `{ helloAck: {...} }`, `{ answer: {...} }`, ...
 */
export function plainFrame(bytes: Uint8Array): Record<string, unknown> {
  const o = pb.Frame.toObject(pb.Frame.decode(bytes), { defaults: true, arrays: true }) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

/** Edge servers on port 0 for one test file, all closed by closeAll() (afterAll). */
export function edges(defaults: Partial<EdgeServerOptions> = {}): { start(over?: Partial<EdgeServerOptions>): Promise<EdgeServer>; closeAll(): Promise<void> } {
  const started: EdgeServer[] = [];
  return {
    async start(over = {}) {
      const s = await createEdgeServer({ models: FIXTURES, port: 0, workers: 1, serverId: 'edge-test', ...defaults, ...over });
      started.push(s);
      return s;
    },
    closeAll: () => Promise.all(started.splice(0).map((s) => s.close())).then(() => undefined),
  };
}

/** The http:// base URL of an edge. */
export function httpBase(s: EdgeServer): string {
  return s.url.replace(/^ws/, 'http');
}

/** A Prometheus sample's value from the edge's /metrics (0 when absent). */
export async function metric(s: EdgeServer, line: RegExp, token?: string): Promise<number> {
  const text = await (await fetch(`${httpBase(s)}/metrics`, token ? { headers: { Authorization: `Bearer ${token}` } } : {})).text();
  const m = line.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Sends a request the edge refuses at once (a rate point never agreed) and waits for that refusal:
 * the edge reads a connection's frames in order, so every frame sent before has been handled.
 */
export async function barrier(c: TestClient, id: number): Promise<void> {
  await c.call({ id, rate: 63 });
}

export { loadBundle };
