/**
 * A load client for the edge server: many WebSocket connections speaking protocol v2, every
 * request id tracked to exactly one outcome. Reports ids sent, answered, errored by code, lost
 * (no outcome by deadline + margin), duplicates (a second outcome for an id), latency
 * percentiles, and the server's RSS over time (from /proc/<pid>/status).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { encodeFeatures } from '../../bottleneck/features.js';
import { resolveRatePoints } from '../../bottleneck/rate-points.js';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { errorCodeFromWire } from '../../protocol/errors.js';
import { decodeFrame, encodeFrame } from '../../protocol/frame.js';
import { pb, type HelloInit } from '../../protocol/messages.js';
import { PROTOCOL_VERSION, SUBPROTOCOL } from '../../protocol/version.js';
import { percentile } from '../stats.js';

export interface LoadOptions {
  /** ws:// URL of the edge. */
  url: string;
  bundle: LoadedBundle;
  connections: number;
  /** Requests per second per connection (open loop, evenly spaced, random phase). */
  rate: number;
  seconds: number;
  /** Each request's deadline, ms (0: the server's default). */
  deadlineMs?: number;
  /** Rate point index the features are sent at. Default: the manifest's defaultRatePoint. */
  ratePoint?: number;
  /** Server process to sample RSS from (default: none). */
  pid?: number;
  /** Opening connections at most this many at a time. Default 200. */
  openConcurrency?: number;
  token?: string;
  /**
   * Behave as the device SDK does after a QUEUE_FULL: a connection sends nothing until that
   * refusal's retry_after_ms has run, and the requests due meanwhile are `held` (a device answers
   * them locally). Off: open loop, every request goes to the edge whatever it said.
   */
  honorRetryAfter?: boolean;
}

export interface LoadReport {
  connections: number;
  connected: number;
  sent: number;
  /** Requests not sent because an earlier QUEUE_FULL's retry-after was running (`honorRetryAfter`). */
  held: number;
  answered: number;
  /** Outcomes by error code; `closed-<code>` for ids still in flight when the server closed the socket. */
  errored: Record<string, number>;
  lost: number;
  duplicates: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Time to each error reply, by code (how fast the server sheds). */
  errorLatencyMs: Record<string, { p50: number; p99: number; max: number }>;
  /** Server RSS samples (kB) once a second, if a pid was given. */
  rssKb: number[];
  /** How connections that the server closed were closed (code → count); ours at the end are not counted. */
  closeCodes: Record<string, number>;
  /**
   * This client's own event-loop delay while it sent (perf_hooks, 1 ms resolution): a reply that
   * arrives while the loop is busy is timed late by up to this much, whatever the server did.
   */
  clientLoopDelayMs: { p50: number; p99: number; max: number };
  seconds: number;
}

/** A Hello for `bundle`: every rate point, raw input (index 0), no zstd; `over` wins. */
export function helloFor(bundle: LoadedBundle, over: Partial<HelloInit> = {}): HelloInit {
  const m = bundle.manifest;
  return {
    protocolVersion: PROTOCOL_VERSION,
    clientName: 'offramp-reliability',
    clientVersion: '0',
    bundle: { id: m.id, version: m.version, manifestSha256: bundle.manifestSha256 },
    ratePoints: m.bottleneck.ratePoints.map((_, i) => i),
    inputEncodings: [{ codec: pb.InputCodec.INPUT_RAW }],
    ...over,
  };
}

/** The Hello frame for `bundle` (see {@link helloFor}). */
export function helloFrame(bundle: LoadedBundle, over: Partial<HelloInit> = {}): Uint8Array {
  return encodeFrame({ type: 'hello', hello: helloFor(bundle, over) });
}

/**
 * Payloads the load sends at rate point `rate`: what a device sends, i.e. the exporter's golden
 * payloads of real test images (golden.json beside the manifest) when the bundle has them, so
 * their size and decoding cost are a real image's; otherwise one synthetic feature map coded at
 * that rate point (a bundle without golden outputs: the sizes are then not a real image's).
 */
export function benchPayloads(bundle: LoadedBundle, rate: number): Uint8Array[] {
  const m = bundle.manifest;
  const point = resolveRatePoints(m, bundle.tables)[rate]!;
  try {
    const golden = JSON.parse(readFileSync(join(bundle.dir, 'golden.json'), 'utf8')) as { rates?: Record<string, { payloads?: string[] }> };
    const hex = golden.rates?.[m.bottleneck.ratePoints[rate]!.id]?.payloads;
    if (hex?.length) return hex.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const n = m.bottleneck.shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 100) / 100);
  return [encodeFeatures(x, m.bottleneck.shape, point).payload];
}

/** The subprotocols a client offers: offramp.v2, and the token as `bearer.<token>` when given. */
export function protocols(token?: string): string[] {
  return [SUBPROTOCOL, ...(token ? [`bearer.${token}`] : [])];
}

/**
 * A handshaken connection: WebSocket open, Hello sent, HelloAck received (rejects on anything
 * else). The caller attaches its own 'message' handler afterwards: nothing more arrives before it
 * sends.
 */
export function openSession(url: string, bundle: LoadedBundle, over: Partial<HelloInit> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols(), { perMessageDeflate: false });
    ws.binaryType = 'nodebuffer';
    const fail = (why: string): void => {
      ws.terminate();
      reject(new Error(`no session with ${url}: ${why}`));
    };
    ws.once('error', (err) => fail(err.message));
    ws.once('close', (code) => fail(`closed ${code}`));
    ws.once('open', () => ws.send(helloFrame(bundle, over)));
    ws.once('message', (data: Buffer) => {
      const r = decodeFrame(data);
      if (!r.ok || r.message.type !== 'helloAck') return fail(r.ok ? JSON.stringify(r.message).slice(0, 200) : r.error.message);
      ws.removeAllListeners('error').removeAllListeners('close');
      ws.on('error', () => {});
      resolve(ws);
    });
  });
}

/** VmRSS of a process in kB (Linux), or NaN. */
export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * The ids a connection has seen an outcome for. Ids count up from 1, so a growable bitmap holds
 * them in a few kB (a Set of 100,000 numbers made the client's own major GCs pause it for tens of
 * ms under overload, which its latencies then counted).
 */
export class IdBits {
  private bits = new Uint8Array(1024);
  has(id: number): boolean {
    return id >>> 3 < this.bits.length && (this.bits[id >>> 3]! & (1 << (id & 7))) !== 0;
  }
  add(id: number): void {
    if (id >>> 3 >= this.bits.length) {
      const grown = new Uint8Array(Math.max(this.bits.length * 2, (id >>> 3) + 1));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[id >>> 3]! |= 1 << (id & 7);
  }
}

/** Runs the load and returns the accounting. Never throws for server behaviour; only for bad options. */
// Long on purpose: open → send open-loop → settle → close, all closures over one per-id accounting that the report reads; split, every phase would take a dozen counters.
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const t0 = performance.now();
  const rate = o.ratePoint ?? o.bundle.manifest.bottleneck.defaultRatePoint;
  const payloads = benchPayloads(o.bundle, rate);
  /** Per connection: request id → when it was sent. Ids count up from 1 on each connection. */
  const pending: Map<number, number>[] = [];
  const done: IdBits[] = [];
  const latencies: number[] = [];
  const errorLatencies: Record<string, number[]> = {};
  const errored: Record<string, number> = {};
  let sent = 0;
  let held = 0;
  /** Per connection: performance.now() until which the edge's latest QUEUE_FULL asked for quiet. */
  const quietUntil: number[] = [];
  let answered = 0;
  let duplicates = 0;
  let connected = 0;
  let closing = false;
  const closeCodes: Record<string, number> = {};
  const rss: number[] = [];
  const sampler = o.pid ? setInterval(() => rss.push(rssKb(o.pid!)), 1000) : undefined;
  if (o.pid) rss.push(rssKb(o.pid));
  const count = (key: string): void => {
    errored[key] = (errored[key] ?? 0) + 1;
  };

  const outcome = (c: number, id: number, code?: string): void => {
    const at = pending[c]!.get(id);
    if (at === undefined) {
      if (done[c]!.has(id)) duplicates++;
      else count(`unknown-id${code ? `:${code}` : ''}`);
      return;
    }
    pending[c]!.delete(id);
    done[c]!.add(id);
    if (code) {
      count(code);
      (errorLatencies[code] ??= []).push(performance.now() - at);
    } else {
      answered++;
      latencies.push(performance.now() - at);
    }
  };

  const open = (c: number): Promise<WebSocket | undefined> =>
    new Promise((resolve) => {
      pending[c] = new Map();
      done[c] = new IdBits();
      const ws = new WebSocket(o.url, protocols(o.token), { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      const fail = (): void => resolve(undefined);
      ws.once('error', fail);
      ws.once('open', () => ws.send(helloFrame(o.bundle, { clientName: `load-${c}`, ratePoints: [rate] })));
      ws.on('message', (data: Buffer) => {
        const r = decodeFrame(data);
        if (!r.ok) return count('undecodable');
        const msg = r.message;
        if (msg.type === 'helloAck') {
          connected++;
          ws.off('error', fail);
          ws.on('error', () => {});
          resolve(ws);
        } else if (msg.type === 'answer') outcome(c, msg.answer.id);
        else if (msg.type === 'error') {
          const code = errorCodeFromWire(msg.error.code) ?? 'INTERNAL';
          if (o.honorRetryAfter && code === 'QUEUE_FULL') quietUntil[c] = Math.max(quietUntil[c] ?? 0, performance.now() + msg.error.retryAfterMs);
          // id 0: a refusal or a frame whose id could not be read (never expected from this client).
          if (msg.error.id === 0) count(`id0:${code}`);
          else outcome(c, msg.error.id, code);
        }
      });
      ws.once('close', (code) => {
        if (!closing) {
          closeCodes[code] = (closeCodes[code] ?? 0) + 1;
          // What was still in flight on it ends with the close (a device sees 'disconnected').
          for (const id of [...pending[c]!.keys()]) outcome(c, id, `closed-${code}`);
        }
        fail();
      });
    });

  const sockets: (WebSocket | undefined)[] = [];
  const batch = o.openConcurrency ?? 200;
  for (let i = 0; i < o.connections; i += batch) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(batch, o.connections - i) }, (_, k) => open(i + k)))));
  }

  const interval = 1000 / o.rate;
  const end = performance.now() + o.seconds * 1000;
  /** One live timer per connection (an array of every tick's timer kept 100,000s alive for the GC to walk). */
  const timers: (NodeJS.Timeout | undefined)[] = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  await Promise.all(
    sockets.map(
      (ws, c) =>
        new Promise<void>((resolve) => {
          if (!ws) return resolve();
          let id = 0;
          const tick = (): void => {
            if (performance.now() >= end || ws.readyState !== WebSocket.OPEN) return resolve();
            timers[c] = setTimeout(tick, interval);
            if (performance.now() < (quietUntil[c] ?? 0)) {
              held++;
              return;
            }
            id++;
            pending[c]!.set(id, performance.now());
            sent++;
            const payload = payloads[(c + id) % payloads.length]!;
            ws.send(encodeFrame({ type: 'request', request: { id, payload, rate, deadlineMs: o.deadlineMs ?? 0 } }));
          };
          timers[c] = setTimeout(tick, Math.random() * interval);
        }),
    ),
  );
  loopDelay.disable();
  // Every id gets its outcome by its deadline (or the server's default) plus a margin.
  const margin = (o.deadlineMs || 10_000) + 2000;
  const settleBy = performance.now() + margin;
  const inFlight = (): number => pending.reduce((n, p) => n + p.size, 0);
  while (inFlight() > 0 && performance.now() < settleBy) await new Promise((r) => setTimeout(r, 20));
  for (const t of timers) clearTimeout(t);
  if (sampler) clearInterval(sampler);
  if (o.pid) rss.push(rssKb(o.pid));
  closing = true;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(1000);
        }),
    ),
  );
  const lat = latencies.sort((a, b) => a - b);
  return {
    connections: o.connections,
    connected,
    sent,
    held,
    answered,
    errored,
    lost: inFlight(),
    duplicates,
    latencyMs: { p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN },
    errorLatencyMs: Object.fromEntries(
      Object.entries(errorLatencies).map(([code, xs]) => {
        xs.sort((a, b) => a - b);
        return [code, { p50: percentile(xs, 50), p99: percentile(xs, 99), max: xs[xs.length - 1]! }];
      }),
    ),
    rssKb: rss,
    closeCodes,
    clientLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    seconds: (performance.now() - t0) / 1000,
  };
}

export interface StormReport {
  connections: number;
  handshaken: number;
  /** Connections that failed, by what the client saw (HTTP status, close code or socket error). */
  failed: Record<string, number>;
  /** From the first connect to the last HelloAck (or failure), s. */
  seconds: number;
  /** WebSocket upgrade + Hello → HelloAck, per connection, ms. */
  handshakeMs: { p50: number; p95: number; p99: number; max: number };
}

/**
 * A connection storm: `connections` WebSocket handshakes (upgrade, then Hello → HelloAck), at most
 * `concurrency` at once; every socket is held open until all have finished, then closed.
 */
export async function connectionStorm(o: { url: string; bundle: LoadedBundle; connections: number; concurrency?: number }): Promise<StormReport> {
  const hello = helloFrame(o.bundle, { clientName: 'storm' });
  const failed: Record<string, number> = {};
  const times: number[] = [];
  const open: WebSocket[] = [];
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t = performance.now();
      const ws = new WebSocket(o.url, protocols(), { perMessageDeflate: false });
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        failed[why] = (failed[why] ?? 0) + 1;
        resolve();
      };
      ws.once('unexpected-response', (_req, res) => fail(`http-${res.statusCode}`));
      ws.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
      ws.once('close', (code) => fail(`close-${code}`));
      ws.once('open', () => ws.send(hello));
      ws.once('message', (data: Buffer) => {
        const r = decodeFrame(data);
        if (!r.ok || r.message.type !== 'helloAck')
          return fail(r.ok ? `refused-${r.message.type === 'error' ? errorCodeFromWire(r.message.error.code) : r.message.type}` : 'undecodable');
        settled = true;
        times.push(performance.now() - t);
        open.push(ws);
        resolve();
      });
    });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency ?? 500, o.connections) }, async () => {
      while (next < o.connections) {
        next++;
        await one();
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(
    open.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(1000);
        }),
    ),
  );
  const lat = times.sort((a, b) => a - b);
  return {
    connections: o.connections,
    handshaken: times.length,
    failed,
    seconds,
    handshakeMs: { p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN },
  };
}
