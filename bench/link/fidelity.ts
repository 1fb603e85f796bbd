/**
 * The link emulator's fidelity check: through a real proxy on loopback, measure uplink and
 * downlink throughput (first to last byte at the receiver, so propagation delay does not count)
 * and the RTT (median of small ping-pongs), to compare with the configured profile.
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { createLinkProxy, type LinkProfile } from '../../link/proxy.js';

export interface LinkFidelity {
  link: string;
  configured: { upMbps: number; downMbps: number; rttMs: number };
  /** rttMs: the minimum of 15 pings (as `ping` reports); rttMedianMs beside it. */
  measured: { upMbps: number; downMbps: number; rttMs: number; rttMedianMs: number };
  /** Throughput within ±5% of configured and RTT within ±(1 ms + 5%), both directions. */
  ok: boolean;
}

/** A profile's configured rates (Mbps) and round trip (ms). */
export function configuredLink(p: LinkProfile): LinkFidelity['configured'] {
  return { upMbps: p.up.bps / 1e6, downMbps: p.down.bps / 1e6, rttMs: p.up.delayMs + p.down.delayMs };
}

const PING = 0x50; // 'P': echo one byte
const DOWN = 0x44; // 'D': send the bulk download
const PINGS = 15;

/** Bytes in flight for a throughput measurement of about `seconds` at `bps`. */
function bulkBytes(bps: number, seconds: number): number {
  return Math.max(16_384, Math.min(16 << 20, Math.round((bps * seconds) / 8)));
}

/** Throughput (Mbps) of `bytes` arriving on `socket`, timed from the first chunk to the last. */
function receive(socket: Socket, bytes: number): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    let first = 0;
    let firstLen = 0;
    const onData = (d: Buffer): void => {
      const now = performance.now();
      if (got === 0) {
        first = now;
        firstLen = d.length;
      }
      got += d.length;
      if (got >= bytes) {
        socket.off('data', onData);
        resolve(((got - firstLen) * 8) / ((now - first) * 1000));
      }
    };
    socket.on('data', onData);
  });
}

/**
 * Measures `profile`'s bandwidth and delay through a fresh proxy (jitter, loss and outages are
 * left out: they are random by design). `seconds`: roughly how long each bulk transfer takes.
 */
export async function measureLink(shaped: LinkProfile, seconds = 0.4): Promise<LinkFidelity> {
  const plain = (d: LinkProfile['up']): LinkProfile['up'] => ({ ...d, jitterMs: 0, loss: 0 });
  const profile: LinkProfile = { name: shaped.name, up: plain(shaped.up), down: plain(shaped.down) };
  const upBytes = bulkBytes(profile.up.bps, seconds);
  const downBytes = bulkBytes(profile.down.bps, seconds);
  let uplink: Promise<number> | undefined;
  let armUplink: () => void = () => {};
  const armed = new Promise<void>((resolve) => {
    armUplink = resolve;
  });
  const sink = createServer((s) => {
    s.setNoDelay(true);
    const control = (d: Buffer): void => {
      if (d.length === 1 && d[0] === PING) s.write(d);
      else if (d.length === 1 && d[0] === DOWN) s.write(Buffer.alloc(downBytes, 7));
      else {
        s.off('data', control); // the bulk upload: time it from here
        s.unshift(d);
        uplink = receive(s, upBytes);
        armUplink();
      }
    };
    s.on('data', control);
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const proxy = await createLinkProxy({ host: '127.0.0.1', port: (sink.address() as AddressInfo).port }, profile);
  const socket = connect(proxy.port, '127.0.0.1');
  socket.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const rtts: number[] = [];
    for (let i = 0; i < PINGS; i++) {
      const t0 = performance.now();
      const echoed = new Promise<void>((resolve) => socket.once('data', () => resolve()));
      socket.write(Buffer.of(PING));
      await echoed;
      rtts.push(performance.now() - t0);
    }
    const downMbps = receive(socket, downBytes);
    socket.write(Buffer.of(DOWN));
    const down = await downMbps;
    socket.write(Buffer.alloc(upBytes, 9));
    await armed;
    const up = await uplink!;
    // The minimum of the pings, as ping reports it: the emulated delay plus the least timer and
    // scheduling cost. Load on a shared machine only ever adds to it (the median is reported too).
    rtts.sort((a, b) => a - b);
    const rttMs = rtts[0]!;
    const rttMedianMs = rtts[PINGS >> 1]!;
    const configured = configuredLink(profile);
    const measured = { upMbps: up, downMbps: down, rttMs, rttMedianMs };
    const within = (m: number, c: number): boolean => Math.abs(m - c) <= 0.05 * c;
    const ok = within(up, configured.upMbps) && within(down, configured.downMbps) && Math.abs(rttMs - configured.rttMs) <= 1 + 0.05 * configured.rttMs;
    return { link: profile.name, configured, measured, ok };
  } finally {
    socket.destroy();
    await proxy.close();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
}
