/**
 * Hostile input against a running edge server, over real sockets:
 * - `fuzzFrames`: mutations of valid frames, well-formed requests with random fields, and random
 *   bytes on one connection (seeded, so a failure replays), with a pristine request every
 *   `probeEvery` frames to prove the connection stays usable; every request id must end in
 *   exactly one reply, every frame whose id cannot be read in one reply with id 0, each decodable;
 * - `headerFlood`: an upgrade request with thousands of headers;
 * - `fragmentFlood`: a request sent as one-byte fragments (must be answered), then a message of
 *   tiny fragments past maxPayload (must close 1009), then empty fragments past it in frame bytes;
 * - `zstdBombs`: payloads a few bytes long claiming hundreds of MiB, and frames that lie about
 *   their size.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { encodeFeatures } from '../../bottleneck/features.js';
import { resolveRatePoints } from '../../bottleneck/rate-points.js';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { errorCodeFromWire } from '../../protocol/errors.js';
import { decodeFrame, encodeFrame, peekRequestId } from '../../protocol/frame.js';
import { pb, type Message, type RequestInit } from '../../protocol/messages.js';
import { helloFrame, openSession } from './load.js';
/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A zstd frame whose header claims `claimed` bytes and whose one RLE block really produces `produced`. */
export function rleFrame(claimed: number, produced: number): Uint8Array {
  // Frame header: magic, FHD = 0xe0 (8-byte FCS, single segment), FCS; then one last RLE block
  // (block header: last=1, type=1 (RLE), size=produced) holding the byte 0x00.
  const out = new Uint8Array(4 + 1 + 8 + 3 + 1);
  out.set([0x28, 0xb5, 0x2f, 0xfd, 0xe0]);
  let v = claimed;
  for (let i = 0; i < 8; i++) {
    out[5 + i] = v % 256;
    v = Math.floor(v / 256);
  }
  const header = 1 | (1 << 1) | (produced << 3);
  out.set([header & 0xff, (header >>> 8) & 0xff, (header >>> 16) & 0xff], 13);
  return out;
}

/** Elements of the bundle's features. */
function featureCount(bundle: LoadedBundle): number {
  return bundle.manifest.bottleneck.shape.reduce((a, b) => a * b, 1);
}

/** A valid split request for `bundle`: random features in [-4, 4) at rate point `rate` (default: random). */
export function validTailRequest(bundle: LoadedBundle, id: number, random: () => number = Math.random, rate?: number): RequestInit {
  const m = bundle.manifest;
  const r = rate ?? Math.floor(random() * m.bottleneck.ratePoints.length);
  const x = Float32Array.from({ length: featureCount(bundle) }, () => -4 + 8 * random());
  return { id, rate: r, payload: encodeFeatures(x, m.bottleneck.shape, resolveRatePoints(m, bundle.tables)[r]!).payload };
}

/** A valid full-offload request: a random raw sample (input encoding 0: raw). */
function validFullRequest(bundle: LoadedBundle, id: number, random: () => number): RequestInit {
  const raw = bundle.manifest.input.raw;
  const n = raw.shape.reduce((a, b) => a * b, 1);
  const payload =
    raw.dtype === 'uint8'
      ? Uint8Array.from({ length: n }, () => Math.floor(random() * 256))
      : new Uint8Array(Float32Array.from({ length: n }, () => random()).buffer);
  return { id, graph: pb.Graph.GRAPH_FULL, payload };
}

/**
 * One hostile frame: random bytes; a valid frame flipped, truncated, spliced, with an over-long
 * varint; a mutated Hello; or a well-formed Request whose fields are random (any rate, graph,
 * want bits, top_k, zstd flag; a random payload).
 */
export function hostileFrame(bundle: LoadedBundle, id: number, r: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(r() * n);
  const kind = int(7);
  if (kind === 0) return Uint8Array.from({ length: int(256) }, () => int(256));
  if (kind === 6) {
    const payload = Uint8Array.from({ length: int(4) === 0 ? int(1200) : int(250) }, () => int(256));
    return encodeFrame({
      type: 'request',
      request: {
        id,
        payload,
        rate: int(5),
        graph: int(3),
        want: int(10),
        topK: int(4) === 0 ? int(2000) : int(12),
        zstd: int(4) === 0,
        deadlineMs: int(3) === 0 ? int(100_000) : 0,
      },
    });
  }
  const base =
    kind === 5 ? helloFrame(bundle) : encodeFrame({ type: 'request', request: r() < 0.5 ? validTailRequest(bundle, id, r) : validFullRequest(bundle, id, r) });
  const f = Uint8Array.from(base);
  if (kind === 1 || kind === 5) {
    for (let i = 0, n = 1 + int(4); i < n; i++) f[int(f.length)] = int(256);
    return f;
  }
  if (kind === 2) return f.subarray(0, int(f.length));
  if (kind === 3) {
    const at = int(f.length);
    return Uint8Array.from([...f.subarray(0, at), ...Array.from({ length: 1 + int(8) }, () => int(256)), ...f.subarray(at + int(4))]);
  }
  // kind 4: a varint made as long as protobuf allows, or longer, at a random offset.
  const at = int(f.length);
  return Uint8Array.from([...f.subarray(0, at), ...Array.from({ length: 9 + int(3) }, () => 0xff), 0x01, ...f.subarray(at)]);
}

/** The request id a frame names as the edge reads it: the decoded id, else the peeked one, else none (0). */
export function frameRequestId(frame: Uint8Array): number {
  if (frame[0] !== 0x1a) return 0; // not a Request: answered with id 0 before any field is read
  const d = decodeFrame(frame);
  if (d.ok) return d.message.type === 'request' ? d.message.request.id : 0;
  return peekRequestId(frame) ?? 0;
}

export interface FuzzReport {
  seed: number;
  frames: number;
  replies: number;
  answers: number;
  errorsByCode: Record<string, number>;
  /** The first message seen for each error code (to tell where an unexpected one came from). */
  firstMessage: Record<string, string>;
  /** Replies the client could not decode (a server bug). */
  undecodable: number;
  /** Frames whose request id can be read, and the distinct ids they named. */
  idFrames: number;
  ids: number;
  /** Frames whose id cannot be read (not a Request, or no id), and the replies with id 0. */
  id0Frames: number;
  id0Replies: number;
  /**
   * Frames that named an id while that id still awaited its outcome here: the edge may have
   * ended both with one outcome (the id was still in flight there) or answered each.
   */
  reused: number;
  /** Outcomes for an id that had no frame awaiting one (a second outcome for a frame: a server bug). */
  extraOutcomes: number;
  /** Ids sent that never got an outcome (a server bug). */
  lost: number;
  probes: { sent: number; answered: number };
  /** How the connection ended before the run did, if it did. */
  closedEarly: { code: number; reason: string } | null;
  framesPerSecond: number;
}

/** Probe request ids: far from the fuzzer's own (which count up from 1). */
const PROBE_BASE = 0x80000000;

/**
 * Sends `frames` hostile frames on one connection, at most `window` awaiting a reply at a time,
 * and accounts for every outcome: each id named must end at least once and never more often than
 * frames named it; each frame without a readable id must get one reply with id 0.
 */
// Long on purpose: the sender, the reply handler and the report are closures over one set of per-id counters; kept together so the accounting reads in one place.
export async function fuzzFrames(o: {
  url: string;
  bundle: LoadedBundle;
  frames: number;
  seed: number;
  probeEvery?: number;
  window?: number;
}): Promise<FuzzReport> {
  const r = prng(o.seed);
  const probeEvery = o.probeEvery ?? 100;
  // Below the server's in-flight limit (64 by default): mutated frames that are still valid
  // requests wait in the batcher, and a probe must never find the connection full.
  const window = o.window ?? 32;
  // zstd agreed, so that zstd payloads reach the codecs rather than stop at UNSUPPORTED_CODEC.
  const ws = await openSession(o.url, o.bundle, { zstd: true });
  /** Per id: frames sent naming it that still await an outcome. */
  const awaiting = new Map<number, number>();
  /** Ids that have had no outcome yet. */
  const silent = new Set<number>();
  const named = new Set<number>();
  let idFrames = 0;
  let id0Frames = 0;
  let id0Replies = 0;
  let reused = 0;
  let replies = 0;
  let answers = 0;
  let undecodable = 0;
  let extraOutcomes = 0;
  let probesAnswered = 0;
  let probesSent = 0;
  let closedEarly: FuzzReport['closedEarly'] = null;
  let finished = false;
  const errorsByCode: Record<string, number> = {};
  const firstMessage: Record<string, string> = {};
  let wake: () => void = () => {};
  const end = (id: number): void => {
    if (id === 0) {
      id0Replies++;
      return;
    }
    const n = awaiting.get(id) ?? 0;
    if (n === 0) extraOutcomes++;
    else if (n === 1) awaiting.delete(id);
    else awaiting.set(id, n - 1);
    silent.delete(id);
  };
  ws.on('message', (data: Buffer) => {
    replies++;
    const d = decodeFrame(data);
    if (!d.ok) undecodable++;
    else if (d.message.type === 'answer') {
      answers++;
      if (d.message.answer.id >= PROBE_BASE) probesAnswered++;
      end(d.message.answer.id);
    } else if (d.message.type === 'error') {
      const code = errorCodeFromWire(d.message.error.code) ?? 'INTERNAL';
      errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
      firstMessage[code] ??= d.message.error.message;
      end(d.message.error.id);
    }
    wake();
  });
  const closed = new Promise<void>((resolve) =>
    ws.once('close', (code, reason) => {
      if (!finished) closedEarly = { code, reason: reason.toString() };
      wake();
      resolve();
    }),
  );
  const send = (frame: Uint8Array): void => {
    const id = frameRequestId(frame);
    if (id === 0) id0Frames++;
    else {
      idFrames++;
      named.add(id);
      const n = awaiting.get(id) ?? 0;
      if (n > 0) reused++;
      awaiting.set(id, n + 1);
      silent.add(id);
    }
    ws.send(frame);
  };
  /** Replies still to come, as far as this side can tell (an id ended by one outcome for two frames counts once). */
  const outstanding = (): number => silent.size + id0Frames - id0Replies;
  const t0 = performance.now();
  let sent = 0;
  for (let k = 0; k < o.frames && !closedEarly; k++) {
    while (outstanding() >= window && !closedEarly)
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    if (k % probeEvery === probeEvery - 1) {
      send(encodeFrame({ type: 'request', request: validTailRequest(o.bundle, PROBE_BASE + k, r) }));
      probesSent++;
    } else send(hostileFrame(o.bundle, k + 1, r));
    sent++;
  }
  while (outstanding() > 0 && !closedEarly)
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  const seconds = (performance.now() - t0) / 1000;
  finished = true;
  ws.close(1000);
  await closed;
  return {
    seed: o.seed,
    frames: sent,
    replies,
    answers,
    errorsByCode,
    firstMessage,
    undecodable,
    idFrames,
    ids: named.size,
    id0Frames,
    id0Replies,
    reused,
    extraOutcomes,
    lost: silent.size,
    probes: { sent: probesSent, answered: probesAnswered },
    closedEarly,
    framesPerSecond: sent / seconds,
  };
}

/** A WebSocket upgrade request for offramp.v2 on loopback, with `extra` header lines. */
function upgradeRequest(extra = ''): string {
  return `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Protocol: offramp.v2\r\n${extra}\r\n`;
}

/** An upgrade request with `headers` extra headers; resolves with the HTTP status line's code. */
export function headerFlood(port: number, headers = 2000): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) {
        s.destroy();
        resolve(Number(m[1]));
      }
    });
    s.on('error', () => {}); // the server may reset after answering
    s.on('close', () => reject(new Error(`closed without a status line: ${JSON.stringify(got.slice(0, 80))}`)));
    let flood = '';
    for (let i = 0; i < headers; i++) flood += `X-Flood-${i}: ${'a'.repeat(8)}\r\n`;
    s.write(upgradeRequest(flood));
  });
}

/** A masked client frame. */
export function clientFrame(opcode: number, payload: Uint8Array, fin: boolean): Buffer {
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len])
      : len < 65536
        ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 0xff])
        : (() => {
            const b = Buffer.alloc(10);
            b[0] = (fin ? 0x80 : 0) | opcode;
            b[1] = 0x80 | 127;
            b.writeBigUInt64BE(BigInt(len), 2);
            return b;
          })();
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

/** A raw WebSocket over a TCP socket: the handshake, masked writes, and the server's frames parsed. */
export class RawSocket {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly frames: { opcode: number; payload: Buffer }[] = [];
  ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
  }

  static open(port: number): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      let head = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        s.off('data', onData);
        if (!head.subarray(0, 12).toString().includes('101')) return reject(new Error(head.subarray(0, end).toString()));
        const raw = new RawSocket(s);
        if (head.length > end + 4) s.emit('data', head.subarray(end + 4)); // frames that came with the 101
        resolve(raw);
      };
      s.on('data', onData);
      s.once('error', reject);
      s.write(upgradeRequest());
    });
  }

  private parse(): void {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) break;
      this.frames.push({ opcode: b[0]! & 0x0f, payload: b.subarray(off, off + len) });
      this.buf = b.subarray(off + len);
    }
    this.notify();
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next frame with one of `opcodes` (already received or future), or undefined if the socket ends first. */
  async nextOf(opcodes: number[]): Promise<{ opcode: number; payload: Buffer } | undefined> {
    for (;;) {
      const i = this.frames.findIndex((f) => opcodes.includes(f.opcode));
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async next(opcode: number): Promise<Buffer | undefined> {
    return (await this.nextOf([opcode]))?.payload;
  }

  write(b: Buffer): boolean {
    return this.socket.write(b);
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface FragmentReport {
  /** What a request sent as one-byte fragments got back. */
  assembled: Message['type'] | 'nothing';
  /** The limit the server announced in its HelloAck. */
  maxFrameBytes: number;
  /** Close code after one message of one-byte fragments past maxPayload. */
  overLimitClose: number | undefined;
  overLimitFragments: number;
  /** Close code after empty fragments past maxPayload in frame bytes (0 bytes of payload). */
  emptyFloodClose: number | undefined;
  emptyFloodFragments: number;
}

export const OP_CONT = 0;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;

async function closeCode(s: RawSocket): Promise<number | undefined> {
  const p = await s.next(OP_CLOSE);
  return p && p.length >= 2 ? p.readUInt16BE(0) : undefined;
}

/** Sends `chunks` frames, waiting for the socket to drain whenever the kernel buffer is full. */
export async function pour(s: RawSocket, count: number, frame: (i: number) => Buffer): Promise<number> {
  let i = 0;
  for (; i < count && !s.ended; i++) {
    if (!s.write(frame(i)))
      await new Promise<void>((resolve) => {
        s.socket.once('drain', resolve);
        s.socket.once('close', resolve);
      });
  }
  return i;
}

export async function fragmentFlood(o: { port: number; bundle: LoadedBundle; emptyFragments?: number }): Promise<FragmentReport> {
  // 1. A real request in one-byte fragments: reassembled and answered.
  const a = await RawSocket.open(o.port);
  a.write(clientFrame(OP_BINARY, helloFrame(o.bundle), true));
  const ackFrame = await a.next(OP_BINARY);
  const ack = ackFrame ? decodeFrame(ackFrame) : undefined;
  if (!ack?.ok || ack.message.type !== 'helloAck') throw new Error('no HelloAck');
  const maxFrameBytes = ack.message.helloAck.limits.maxFrameBytes;
  const req = encodeFrame({ type: 'request', request: validTailRequest(o.bundle, 1) });
  for (let i = 0; i < req.length; i++) a.write(clientFrame(i === 0 ? OP_BINARY : OP_CONT, req.subarray(i, i + 1), i === req.length - 1));
  const answer = await a.next(OP_BINARY);
  const d = answer ? decodeFrame(answer) : undefined;
  a.close();
  // 2. One message of one-byte fragments that never ends: 1009 once past maxPayload (twice the
  // frame limit, §9.4), or 1008 first if that takes more fragments than ws allows (16,384).
  const b = await RawSocket.open(o.port);
  const one = Uint8Array.of(0);
  const overLimitFragments = await pour(b, maxFrameBytes * 2 + 1, (i) => clientFrame(i === 0 ? OP_BINARY : OP_CONT, one, false));
  const overLimitClose = await closeCode(b);
  b.close();
  // 3. Empty fragments: no payload at all, only frame bytes (and fragment bookkeeping).
  const c = await RawSocket.open(o.port);
  const empty = new Uint8Array(0);
  const emptyFloodFragments = await pour(c, o.emptyFragments ?? 200_000, (i) => clientFrame(i === 0 ? OP_BINARY : OP_CONT, empty, false));
  // End the message: a server that took every fragment answers the (empty, invalid) message with
  // an error frame; one that stopped the flood has sent a close frame instead.
  c.write(clientFrame(OP_CONT, empty, true));
  const reply = await c.nextOf([OP_CLOSE, OP_BINARY]);
  const emptyFloodClose = reply?.opcode === OP_CLOSE && reply.payload.length >= 2 ? reply.payload.readUInt16BE(0) : undefined;
  c.close();
  return { assembled: d?.ok ? d.message.type : 'nothing', maxFrameBytes, overLimitClose, overLimitFragments, emptyFloodClose, emptyFloodFragments };
}

/**
 * Sends `count` full-offload requests (raw input, zstd agreed) whose payloads are zstd bombs and
 * frames that lie about their size; returns the replies by outcome.
 */
export async function zstdBombs(o: { url: string; bundle: LoadedBundle; count: number }): Promise<Record<string, number>> {
  const raw = o.bundle.manifest.input.raw;
  const bytes = raw.shape.reduce((a, b) => a * b, 1) * (raw.dtype === 'float32' ? 4 : 1);
  const payloads = [
    rleFrame(256 * 1024 * 1024, 1024 * 1024), // 17 bytes claiming 256 MiB
    rleFrame(bytes, Math.min(2 ** 21 - 1, bytes * 100)), // claims the right size, produces 100×
    rleFrame(bytes, 1), // claims the right size, produces less
  ];
  const ws = await openSession(o.url, o.bundle, { zstd: true });
  const outcomes: Record<string, number> = {};
  let got = 0;
  let all: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    all = resolve;
  });
  ws.on('message', (data: Buffer) => {
    const d = decodeFrame(data);
    const key = !d.ok ? 'undecodable' : d.message.type === 'error' ? (errorCodeFromWire(d.message.error.code) ?? 'INTERNAL') : d.message.type;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (++got === o.count) all();
  });
  ws.once('close', () => all());
  for (let i = 0; i < o.count; i++) {
    ws.send(encodeFrame({ type: 'request', request: { id: i + 1, graph: pb.Graph.GRAPH_FULL, payload: payloads[i % payloads.length]!, zstd: true } }));
  }
  await done;
  ws.close(1000);
  return outcomes;
}
