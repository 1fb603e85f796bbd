import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkProxy, type LinkProfile } from '../../bench/link/proxy.js';
import { Shaper } from '../../bench/link/shaper.js';

const dir = (bps: number, delayMs: number, extra: Partial<{ jitterMs: number; loss: number; rtoMs: number }> = {}) => ({ bps, delayMs, jitterMs: 0, loss: 0, rtoMs: 200, ...extra });

describe('Shaper (pure scheduling)', () => {
  it('serialises at the bandwidth, then adds the delay, keeping order', () => {
    const s = new Shaper(dir(8000, 10)); // 1 byte per ms
    expect(s.schedule(0, 100)).toBe(110);
    expect(s.schedule(0, 50)).toBe(160);
    expect(s.schedule(500, 10)).toBe(520);
  });
  it('holds traffic through an outage', () => {
    const s = new Shaper(dir(Infinity, 5), [[0, 50]]);
    expect(s.schedule(10, 100)).toBe(55);
  });
  it('charges a retransmission timeout per loss draw, and jitter never reorders', () => {
    const draws = [0.1, 0.9];
    const lossy = new Shaper(dir(Infinity, 5, { loss: 0.5, rtoMs: 200 }), [], () => draws.shift()!);
    expect(lossy.schedule(0, 1)).toBe(205);
    const seq = [0.99, 0.0];
    const jittery = new Shaper(dir(Infinity, 5, { jitterMs: 10 }), [], () => seq.shift()!);
    const a = jittery.schedule(0, 1);
    const b = jittery.schedule(1, 1);
    expect(a).toBeCloseTo(14.9, 9);
    expect(b).toBe(a); // would have been 6: held behind the earlier segment
  });
});

describe('createLinkProxy (real sockets on loopback)', () => {
  let sink: Server;
  let received = 0;
  let onData: () => void = () => {};
  beforeAll(async () => {
    sink = createServer((s) => {
      s.on('data', (d: Buffer) => {
        received += d.length;
        if (d[0] === 0x50 && d.length === 1) s.write(d); // 'P': echo pings
        onData();
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });

  const target = (): { host: string; port: number } => ({ host: '127.0.0.1', port: (sink.address() as AddressInfo).port });

  it('delivers at the configured uplink throughput (±5%) and counts the bytes', async () => {
    const profile: LinkProfile = { name: 'test', up: dir(8e6, 5), down: dir(8e6, 5) };
    const proxy = await createLinkProxy(target(), profile);
    const socket = connect(proxy.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    received = 0;
    const bytes = 300_000;
    const done = new Promise<void>((resolve) => { onData = () => { if (received >= bytes) resolve(); }; });
    const t0 = performance.now();
    socket.write(Buffer.alloc(bytes, 1));
    await done;
    const ms = performance.now() - t0 - 5;
    const mbps = (bytes * 8) / (ms * 1000);
    expect(Math.abs(mbps - 8) / 8).toBeLessThan(0.05);
    expect(proxy.bytes().up).toBe(bytes);
    socket.destroy();
    await proxy.close();
  });

  it('gives the configured RTT (±1 ms + 5%)', async () => {
    const proxy = await createLinkProxy(target(), { name: 'rtt', up: dir(Infinity, 15), down: dir(Infinity, 15) });
    const socket = connect(proxy.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      socket.write(Buffer.from('P'));
      await new Promise<void>((resolve) => socket.once('data', () => resolve()));
      rtts.push(performance.now() - t0);
    }
    const median = rtts.sort((a, b) => a - b)[2]!;
    expect(Math.abs(median - 30)).toBeLessThanOrEqual(1 + 0.05 * 30);
    socket.destroy();
    await proxy.close();
  });
});
