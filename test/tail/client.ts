/** A minimal protocol client for the server tests: a real `ws` socket speaking offramp.v1. */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { encodeFeatures, encodeRawSample, type ZstdBackend } from '../../bottleneck/index.js';
import { decodeFrame, encodeFrame, loadBundle, PROTOCOL_VERSION, type Hello, type InferRequest, type Message, type LoadedBundle } from '../../protocol/index.js';

export interface Golden {
  images: number[][];
  features: number[][];
  fullLogits: number[][];
  splitLogitsByBits: Record<string, number[][]>;
}

export async function tinyGolden(dir: string): Promise<Golden> {
  return JSON.parse(await readFile(`${dir}/golden.json`, 'utf8')) as Golden;
}

export class TestClient {
  readonly messages: Message[] = [];
  private waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const r = decodeFrame(data);
      if (!r.ok) throw r.error;
      this.messages.push(r.message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(r.message)) return true;
        w.resolve(r.message);
        return false;
      });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}, protocols?: string[]): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols ?? [], options);
      const c = new TestClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** The next message (already received or future) matching `match`. */
  next(match: (m: Message) => boolean): Promise<Message> {
    const seen = this.messages.find(match);
    if (seen) {
      this.messages.splice(this.messages.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => this.waiters.push({ match, resolve: (m) => {
      this.messages.splice(this.messages.indexOf(m), 1);
      resolve(m);
    } }));
  }

  /** The answer (response or error) to request `id`. */
  answer(id: string): Promise<Message> {
    return this.next((m) => (m.type === 'inferResponse' || m.type === 'error') && m.id === id);
  }

  send(m: Message): void {
    this.ws.send(encodeFrame(m));
  }

  sendRaw(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  async hello(b: LoadedBundle, over: Partial<Hello> = {}): Promise<Message> {
    this.send({
      type: 'hello', protocolVersion: PROTOCOL_VERSION, clientName: 'test', clientVersion: '0', authToken: '', deviceId: '',
      bundle: { id: b.manifest.id, version: b.manifest.version, manifestSha256: b.manifestSha256 },
      codecs: ['none', 'zstd'], bitWidths: [], ...over,
    });
    return this.next((m) => m.type === 'helloAck' || m.type === 'error');
  }

  close(): void {
    this.ws.close();
  }
}

/** A split request for one sample's bottleneck features. */
export function tailRequest(b: LoadedBundle, id: string, features: ArrayLike<number>, bits: number, zstd?: ZstdBackend, over: Partial<InferRequest> = {}): InferRequest {
  const m = b.manifest;
  const enc = encodeFeatures(Float32Array.from(features), { shape: [1, ...m.bottleneck.shape], bits, range: m.bottleneck.range }, zstd);
  return { type: 'inferRequest', id, name: m.bottleneck.tailInput, datatype: 'FP32', encoding: enc.meta, raw: enc.bytes, exitIndex: -1, exitConfidence: 0, deadlineMs: 0, graph: 'tail', ...over };
}

/** A full-offload request for one raw uint8 sample. */
export function fullRequest(b: LoadedBundle, id: string, image: ArrayLike<number>): InferRequest {
  const m = b.manifest;
  const enc = encodeRawSample(Uint8Array.from(image), [1, ...m.input.shape]);
  return {
    type: 'inferRequest', id, name: m.graphs.full.inputs[0]!.name, datatype: 'FP32',
    encoding: enc.meta, raw: enc.bytes, exitIndex: -1, exitConfidence: 0, deadlineMs: 0, graph: 'full',
  };
}

/** The tiny test bundle (test/fixtures/tiny). */
export const TINY = join(import.meta.dirname, '..', 'fixtures', 'tiny');

/** A temporary models folder holding a copy of the tiny bundle, its loaded copy and golden data. */
export async function tinyModels(): Promise<{ models: string; bundle: LoadedBundle; golden: Golden; cleanup: () => Promise<void> }> {
  const models = await mkdtemp(join(tmpdir(), 'offramp-models-'));
  await cp(TINY, join(models, 'tiny'), { recursive: true });
  return { models, bundle: await loadBundle(join(models, 'tiny')), golden: await tinyGolden(TINY), cleanup: () => rm(models, { recursive: true, force: true }) };
}

export { loadBundle };
