/**
 * Shared fixtures of the device-side tests: the tiny v2 bundle and its golden outputs, a
 * scriptable fake edge (a real WebSocket server that handshakes as told and records every frame
 * it receives), copies of the bundle folder, and event-driven waiting.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeFrame, encodeFrame } from '../../protocol/frame.js';
import type { Manifest } from '../../protocol/manifest.js';
import type { AnswerInit, ErrorInit, Hello, HelloAckInit, Request } from '../../protocol/messages.js';
import { softmax } from '../../protocol/scores.js';
import { SUBPROTOCOL } from '../../protocol/version.js';

/** The committed v2 test bundle, and the folder an edge serves it from. */
export const TINY = 'test/fixtures/tiny';
export const MODELS = 'test/fixtures';

/** test/fixtures/tiny/golden.json (written by make_tiny_bundle.py from the PyTorch models). */
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
  /** Split predictions over the whole test set, per rate point (the golden images are its first four). */
  splitPredictions: Record<'s1' | 'u4' | 'f16', number[]>;
}

export async function loadGolden(): Promise<Golden> {
  return JSON.parse(await readFile(join(TINY, 'golden.json'), 'utf8')) as Golden;
}

export async function loadManifest(): Promise<{ manifest: Manifest; sha256: string; bytes: Uint8Array }> {
  const bytes = new Uint8Array(await readFile(join(TINY, 'manifest.json')));
  return { manifest: JSON.parse(new TextDecoder().decode(bytes)) as Manifest, sha256: createHash('sha256').update(bytes).digest('hex'), bytes };
}

/** The files a device needs, in memory. */
export async function tinyFiles(): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const name of ['manifest.json', 'head.onnx', 'full.onnx', 'entropy-s1.json']) files[name] = new Uint8Array(await readFile(join(TINY, name)));
  return files;
}

/** Float64 softmax of logits (the reference the SDK's float32 probabilities are compared with). */
export function probs(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

export function argmaxOf(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

/** Labels by descending probability (ties: lower label first). */
export function ranking(logits: readonly number[]): number[] {
  const p = Array.from(softmax(Float32Array.from(logits)));
  return p.map((_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
}

/** A copy of the tiny bundle in a temporary folder (`<root>/tiny`), optionally with its manifest edited. */
export async function copyTiny(editManifest?: (m: Record<string, unknown>) => void): Promise<{ root: string; dir: string; remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'offramp-head-'));
  const dir = join(root, 'tiny');
  await cp(TINY, dir, { recursive: true });
  if (editManifest) {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    editManifest(m);
    await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
  }
  return { root, dir, remove: () => rm(root, { recursive: true, force: true }) };
}

/** Resolves when `cond()` holds, checking after every turn of the event loop; rejects after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** One request frame as the fake edge received it. */
export interface Received {
  bytes: Uint8Array;
  request: Request;
  socket: WebSocket;
}

/**
 * A fake edge: answers the Hello with `ack(hello)` (or refuses it with `refuse`), then records
 * requests and answers only what the test tells it to.
 */
export class FakeEdge {
  readonly received: Received[] = [];
  readonly hellos: Hello[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  private readonly sockets = new Set<WebSocket>();

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  /** `onPing`: called with each ping instead of answering it (the test sends the pong itself). */
  static async start(options: { ack?: (h: Hello) => HelloAckInit; refuse?: ErrorInit; onPing?: (ws: WebSocket) => void } = {}): Promise<FakeEdge> {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (p) => (p.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
      autoPong: options.onPing === undefined,
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const edge = new FakeEdge(wss, `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    wss.on('connection', (ws) => {
      edge.sockets.add(ws);
      ws.on('close', () => edge.sockets.delete(ws));
      if (options.onPing) ws.on('ping', () => options.onPing!(ws));
      ws.on('message', (data: Buffer) => {
        const r = decodeFrame(new Uint8Array(data));
        if (!r.ok) throw r.error;
        const m = r.message;
        if (m.type === 'hello') {
          edge.hellos.push(m.hello);
          if (options.refuse) {
            ws.send(encodeFrame({ type: 'error', error: { id: 0, ...options.refuse } }));
            ws.close(1008, 'refused');
            return;
          }
          ws.send(encodeFrame({ type: 'helloAck', helloAck: (options.ack ?? defaultAck)(m.hello) }));
        } else if (m.type === 'request') {
          edge.received.push({ bytes: new Uint8Array(data), request: m.request, socket: ws });
          edge.waiters = edge.waiters.filter((w) => {
            if (edge.received.length < w.n) return true;
            w.resolve();
            return false;
          });
        }
      });
    });
    return edge;
  }

  /** Resolves once `n` requests have arrived in all. */
  requests(n: number): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  /** Sends an answer on the socket request `r` came on; returns the frame's length. */
  answer(r: Received, a: Omit<AnswerInit, 'id'> = {}): number {
    const frame = encodeFrame({ type: 'answer', answer: { id: r.request.id, ...a } });
    r.socket.send(frame);
    return frame.length;
  }

  /** Sends an Error frame for `r`; returns the frame's length. */
  error(r: Received, e: Omit<ErrorInit, 'id'>): number {
    const frame = encodeFrame({ type: 'error', error: { id: r.request.id, ...e } });
    r.socket.send(frame);
    return frame.length;
  }

  /** Drops every connection at once (no closing handshake). */
  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** The terms an edge with default limits would grant (every offered rate point and encoding). */
export function defaultAck(h: Hello, limits: HelloAckInit['limits'] = {}): HelloAckInit {
  return {
    protocolVersion: 2,
    bundle: h.bundle,
    ratePoints: h.ratePoints,
    inputEncodings: h.inputEncodings.map((_, i) => i),
    zstd: h.zstd,
    outputEncoding: h.outputEncoding,
    limits: { maxFrameBytes: 8192, maxInFlight: 64, maxBatch: 32, deadlineMs: h.deadlineMs || 10_000, maxDeadlineMs: 60_000, ...limits },
    serverId: 'fake-edge',
  };
}
