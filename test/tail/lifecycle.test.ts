/** tail/lifecycle.ts's parts alone: the heartbeat, listen failures in words, waiting for requests in flight. */
import { createServer } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { listen, listenFailure, newEdgeState, startHeartbeat, waitForInFlight, type Pingable } from '../../tail/lifecycle.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('newEdgeState', () => {
  it('starts ready, not draining, not away, with no connection', () => {
    const s = newEdgeState();
    expect(s).toEqual({ draining: false, edgeAway: false, ready: true, connections: new Set() });
  });
});

describe('startHeartbeat', () => {
  it('pings every connection each tick and terminates one that missed the last pong', () => {
    vi.useFakeTimers();
    const log: string[] = [];
    const peer = (name: string): Pingable => ({ alive: true, ping: () => void log.push(`ping ${name}`), terminate: () => void log.push(`terminate ${name}`) });
    const a = peer('a');
    const b = peer('b');
    const timer = startHeartbeat([a, b], 100);
    vi.advanceTimersByTime(99);
    expect(log).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(log).toEqual(['ping a', 'ping b']);
    expect([a.alive, b.alive]).toEqual([false, false]);
    a.alive = true; // a's pong came back, b's did not
    vi.advanceTimersByTime(100);
    expect(log).toEqual(['ping a', 'ping b', 'ping a', 'terminate b']);
    clearInterval(timer);
  });

  it('keeps no process alive (unref)', () => {
    const timer = startHeartbeat([], 1000);
    expect(timer.hasRef()).toBe(false);
    clearInterval(timer);
  });
});

describe('listenFailure', () => {
  const errno = (code: string, message = code): NodeJS.ErrnoException => Object.assign(new Error(message), { code });
  it('says why in words: port in use, no permission, else the error', () => {
    const busy = listenFailure(errno('EADDRINUSE'), 8080, '0.0.0.0');
    expect([busy.code, busy.message]).toEqual(['LISTEN_FAILED', 'cannot listen: port 8080 on 0.0.0.0 is already in use']);
    expect(busy.cause).toBeInstanceOf(Error);
    expect(listenFailure(errno('EACCES'), 80, '127.0.0.1').message).toBe('cannot listen: no permission to listen on port 80');
    expect(listenFailure(errno('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL 10.9.9.9'), 1, '10.9.9.9').message).toBe('cannot listen: listen EADDRNOTAVAIL 10.9.9.9');
  });
});

describe('listen', () => {
  it("resolves once listening and rejects with the server's error on a busy port", async () => {
    const a = createServer();
    await listen(a, 0, '127.0.0.1');
    const port = (a.address() as { port: number }).port;
    const b = createServer();
    await expect(listen(b, port, '127.0.0.1')).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await new Promise((r) => a.close(r));
  });
});

describe('waitForInFlight', () => {
  it('returns at once when nothing is in flight, and when the requests end', async () => {
    await waitForInFlight([{ inFlight: 0 }], 60_000);
    const c = { inFlight: 2 };
    setTimeout(() => (c.inFlight = 0), 30);
    const t0 = performance.now();
    await waitForInFlight([c], 60_000);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(c.inFlight).toBe(0);
  });

  it('gives up after waitMs', async () => {
    const t0 = performance.now();
    await waitForInFlight([{ inFlight: 1 }], 40);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(39);
  });
});
