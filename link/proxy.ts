/**
 * A shaping TCP proxy on loopback: devices connect to it, it connects to the edge, and each
 * direction goes through a {@link Shaper}. Bytes are counted here, so "bytes on the wire" are real
 * WebSocket + protocol bytes. (This kernel has no netem: delay, jitter and loss live here.)
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Shaper, type DirectionProfile, type Outage } from './shaper.js';

/** A link: both directions and optional outage windows (ms after the proxy starts). */
export interface LinkProfile {
  name: string;
  up: DirectionProfile;
  down: DirectionProfile;
  outages?: Outage[];
}

/** Segments are cut to this size so serialisation is smooth, like TCP's MSS. */
const SEGMENT = 1448;
/** Pause a source when this many bytes wait in the shaper. */
const HIGH_WATER = 1 << 20;

export interface LinkProxy {
  port: number;
  /** Bytes that crossed each direction so far. */
  bytes(): { up: number; down: number };
  setProfile(profile: LinkProfile): void;
  close(): Promise<void>;
}

/** A timer delay Node accepts: 0 .. 2^31 − 1 ms (longer waits re-arm when they fire). */
function timerMs(ms: number): number {
  return Math.min(2 ** 31 - 1, Math.max(0, ms));
}

/**
 * Node's timers count whole milliseconds from a loop time cached per tick, and `setTimeout(f, 0)`
 * waits 1 ms: a plain timer per crossing would add ~1 ms to every hop. Sleep on a timer until
 * about a millisecond before the segment is due, then finish the wait on `setImmediate`, which
 * costs a little CPU only while a segment is about to leave.
 */
type Wake = { kind: 'timeout'; t: NodeJS.Timeout } | { kind: 'immediate'; t: NodeJS.Immediate };
function arm(f: () => void, ms: number): Wake {
  return ms > 1.5 ? { kind: 'timeout', t: setTimeout(f, timerMs(Math.floor(ms - 1))) } : { kind: 'immediate', t: setImmediate(f) };
}
function disarm(w: Wake | undefined): void {
  if (w?.kind === 'timeout') clearTimeout(w.t);
  else if (w?.kind === 'immediate') clearImmediate(w.t);
}

interface Pipe {
  shaper: Shaper;
  queue: { at: number; data: Buffer }[];
  queued: number;
  timer: Wake | undefined;
}

/** One proxied connection: its two pipes, and a function that re-arms both timers. */
interface Link {
  up: Pipe;
  down: Pipe;
  rearm: () => void;
}

/** Milliseconds since the proxy started. */
type Clock = () => number;

/** Bytes that crossed each direction, over every connection. */
interface Tally {
  up: number;
  down: number;
}

const newPipe = (dir: DirectionProfile, outages: Outage[] | undefined): Pipe => ({ shaper: new Shaper(dir, outages), queue: [], queued: 0, timer: undefined });

/** Starts moving `from` → `to` through `pipe`; returns a function that re-arms its timer. */
function pump(pipe: Pipe, from: Socket, to: Socket, clock: Clock, count: (n: number) => void): () => void {
  const deliver = (): void => {
    pipe.timer = undefined;
    const now = clock();
    while (pipe.queue.length && pipe.queue[0]!.at <= now) {
      const seg = pipe.queue.shift()!;
      pipe.queued -= seg.data.length;
      count(seg.data.length);
      if (!to.destroyed) to.write(seg.data);
    }
    if (pipe.queued < HIGH_WATER && from.isPaused()) from.resume();
    if (pipe.queue.length) pipe.timer = arm(deliver, pipe.queue[0]!.at - clock());
    else if (from.readableEnded && !to.destroyed) to.end();
  };
  from.on('data', (chunk: Buffer) => {
    const now = clock();
    for (let i = 0; i < chunk.length; i += SEGMENT) {
      const data = chunk.subarray(i, i + SEGMENT);
      pipe.queue.push({ at: pipe.shaper.schedule(now, data.length), data });
      pipe.queued += data.length;
    }
    if (pipe.queued >= HIGH_WATER) from.pause();
    if (!pipe.timer) pipe.timer = arm(deliver, pipe.queue[0]!.at - now);
  });
  from.on('end', () => {
    if (!pipe.queue.length && !to.destroyed) to.end();
  });
  return () => {
    disarm(pipe.timer);
    pipe.timer = pipe.queue.length ? arm(deliver, pipe.queue[0]!.at - clock()) : undefined;
  };
}

/** Connects a device's socket to the edge through a pipe each way under `profile`; either side closing or failing closes both. */
function proxyConnection(
  client: Socket,
  target: { host: string; port: number },
  profile: LinkProfile,
  clock: Clock,
  tally: Tally,
  sockets: Set<Socket>,
  links: Set<Link>,
): void {
  const edge = connect(target.port, target.host);
  client.setNoDelay(true);
  edge.setNoDelay(true);
  sockets.add(client);
  sockets.add(edge);
  const upPipe = newPipe(profile.up, profile.outages);
  const downPipe = newPipe(profile.down, profile.outages);
  const rearmUp = pump(upPipe, client, edge, clock, (n) => {
    tally.up += n;
  });
  const rearmDown = pump(downPipe, edge, client, clock, (n) => {
    tally.down += n;
  });
  const link: Link = {
    up: upPipe,
    down: downPipe,
    rearm: () => {
      rearmUp();
      rearmDown();
    },
  };
  links.add(link);
  const close = (): void => {
    disarm(upPipe.timer);
    disarm(downPipe.timer);
    client.destroy();
    edge.destroy();
    sockets.delete(client);
    sockets.delete(edge);
    links.delete(link);
  };
  client.on('close', close);
  edge.on('close', close);
  client.on('error', close);
  edge.on('error', close);
}

/**
 * Puts a connection under a new profile. Segments still waiting were scheduled under the old one
 * (behind an outage that may just have been lifted, say): schedule them again, in order, from `now`.
 */
function reshape(link: Link, p: LinkProfile, now: number): void {
  for (const [pipe, dir] of [
    [link.up, p.up],
    [link.down, p.down],
  ] as const) {
    pipe.shaper = new Shaper(dir, p.outages);
    for (const seg of pipe.queue) seg.at = pipe.shaper.schedule(now, seg.data.length);
  }
  link.rearm();
}

/** Starts a proxy listening on `host` (default 127.0.0.1; port 0: any free one) forwarding to `target`. */
export async function createLinkProxy(target: { host: string; port: number }, profile: LinkProfile, host = '127.0.0.1', port = 0): Promise<LinkProxy> {
  const t0 = performance.now();
  const clock: Clock = () => performance.now() - t0;
  let current = profile;
  const tally: Tally = { up: 0, down: 0 };
  const sockets = new Set<Socket>();
  const links = new Set<Link>();
  const server: Server = createServer((client) => proxyConnection(client, target, current, clock, tally, sockets, links));
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    bytes: () => ({ up: tally.up, down: tally.down }),
    setProfile(p) {
      current = p;
      const now = clock();
      for (const link of links) reshape(link, p, now);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
