import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { measureLink } from '../../bench/link/fidelity.js';
import { createLinkProxy } from '../../link/proxy.js';
import { Shaper } from '../../link/shaper.js';

const dir = (bps: number, delayMs: number, extra: Partial<{ jitterMs: number; loss: number; rtoMs: number }> = {}) => ({
  bps,
  delayMs,
  jitterMs: 0,
  loss: 0,
  rtoMs: 200,
  ...extra,
});

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
  // A loaded machine fires timers late, which only makes the link slower: the test holds the
  // bounds no load can break (never faster than configured, ±5% and 1 ms for measurement
  // granularity); how close it comes on a quiet machine is the benchmark's figure (`offramp bench`
  // measures every link it runs over and reports it in its JSON's links).
  it('never delivers more than the configured throughput, nor a shorter RTT, in either direction', async () => {
    const f = await measureLink({ name: 'test', up: dir(8e6, 15), down: dir(4e6, 15) });
    expect(f.measured.upMbps).toBeGreaterThan(0);
    expect(f.measured.upMbps).toBeLessThan(8 * 1.05);
    expect(f.measured.downMbps).toBeGreaterThan(0);
    expect(f.measured.downMbps).toBeLessThan(4 * 1.05);
    expect(f.measured.rttMs).toBeGreaterThanOrEqual(30 - 1);
  });

  it('counts every byte that crosses it', async () => {
    let received = 0;
    let onData: () => void = () => {};
    const sink: Server = createServer((s) =>
      s.on('data', (d: Buffer) => {
        received += d.length;
        onData();
      }),
    );
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const proxy = await createLinkProxy(
      { host: '127.0.0.1', port: (sink.address() as AddressInfo).port },
      { name: 'count', up: dir(Infinity, 0), down: dir(Infinity, 0) },
    );
    const socket = connect(proxy.port, '127.0.0.1');
    const done = new Promise<void>((resolve) => {
      onData = () => {
        if (received >= 100_000) resolve();
      };
    });
    socket.write(Buffer.alloc(100_000, 1));
    await done;
    expect(proxy.bytes()).toEqual({ up: 100_000, down: 0 });
    socket.destroy();
    await proxy.close();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  });
});
