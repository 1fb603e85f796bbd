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

/** Starts a proxy listening on `host` (default 127.0.0.1; port 0: any free one) forwarding to `target`. */
export async function createLinkProxy(target: { host: string; port: number }, profile: LinkProfile, host = '127.0.0.1', port = 0): Promise<LinkProxy> {
  const t0 = performance.now();
  let current = profile;
  let up = 0;
  let down = 0;
  const sockets = new Set<Socket>();
  const pipes = new Set<{ up: Pipe; down: Pipe; rearm: () => void }>();

  /** Starts moving `from` → `to` through `pipe`; returns a function that re-arms its timer. */
  const pump = (pipe: Pipe, from: Socket, to: Socket, count: (n: number) => void): (() => void) => {
    const deliver = (): void => {
      pipe.timer = undefined;
      const now = performance.now() - t0;
      while (pipe.queue.length && pipe.queue[0]!.at <= now) {
        const seg = pipe.queue.shift()!;
        pipe.queued -= seg.data.length;
        count(seg.data.length);
        if (!to.destroyed) to.write(seg.data);
      }
      if (pipe.queued < HIGH_WATER && from.isPaused()) from.resume();
      if (pipe.queue.length) pipe.timer = arm(deliver, pipe.queue[0]!.at - (performance.now() - t0));
      else if (from.readableEnded && !to.destroyed) to.end();
    };
    from.on('data', (chunk: Buffer) => {
      const now = performance.now() - t0;
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
      pipe.timer = pipe.queue.length ? arm(deliver, pipe.queue[0]!.at - (performance.now() - t0)) : undefined;
    };
  };

  const server: Server = createServer((client) => {
    const edge = connect(target.port, target.host);
    client.setNoDelay(true);
    edge.setNoDelay(true);
    sockets.add(client);
    sockets.add(edge);
    const upPipe: Pipe = { shaper: new Shaper(current.up, current.outages), queue: [], queued: 0, timer: undefined };
    const downPipe: Pipe = { shaper: new Shaper(current.down, current.outages), queue: [], queued: 0, timer: undefined };
    const rearmUp = pump(upPipe, client, edge, (n) => {
      up += n;
    });
    const rearmDown = pump(downPipe, edge, client, (n) => {
      down += n;
    });
    const shapers = {
      up: upPipe,
      down: downPipe,
      rearm: () => {
        rearmUp();
        rearmDown();
      },
    };
    pipes.add(shapers);
    const close = (): void => {
      disarm(upPipe.timer);
      disarm(downPipe.timer);
      client.destroy();
      edge.destroy();
      sockets.delete(client);
      sockets.delete(edge);
      pipes.delete(shapers);
    };
    client.on('close', close);
    edge.on('close', close);
    client.on('error', close);
    edge.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    bytes: () => ({ up, down }),
    setProfile(p) {
      current = p;
      // Segments still waiting were scheduled under the old profile (behind an outage that may
      // just have been lifted, say): schedule them again, in order, under the new one from now.
      const now = performance.now() - t0;
      for (const s of pipes) {
        for (const [pipe, dir] of [
          [s.up, p.up],
          [s.down, p.down],
        ] as const) {
          pipe.shaper = new Shaper(dir, p.outages);
          for (const seg of pipe.queue) seg.at = pipe.shaper.schedule(now, seg.data.length);
        }
        s.rearm();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
