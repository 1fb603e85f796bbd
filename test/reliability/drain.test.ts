/**
 * SIGTERM under load, on a spawned `offramp serve`: readiness goes 503 at once, requests in
 * flight finish, later ones get SHUTTING_DOWN, connections close with 1001, and the process exits
 * 0 before its drain timeout. Every request id ends in exactly one outcome.
 */
import { describe, expect, it } from 'vitest';
import { runLoad } from '../../bench/reliability/load.js';
import { serveBundleCopy } from '../../bench/reliability/spawn.js';
import { TINY } from '../tail/client.js';

const DRAIN_TIMEOUT_MS = 8000;

describe('SIGTERM drain under load', () => {
  it('goes unready within 1 s, finishes what is in flight, closes 1001, exits 0 before the drain timeout; every id ends once', async () => {
    const { server, bundle, close } = await serveBundleCopy(TINY, ['--workers', '1', '--drain-timeout-ms', String(DRAIN_TIMEOUT_MS)], { fromSource: true });
    try {
      const metrics = async (): Promise<number> => {
        const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
        return Number(/^offramp_requests_total\{outcome="ok"\} (\d+)/m.exec(text)?.[1] ?? 0);
      };
      // 500 req/s: load, but within what one worker serves even with the rest of the suite beside it.
      const load = runLoad({ url: server.url, bundle, connections: 100, rate: 5, seconds: 6, deadlineMs: 3000 });
      // Under load: the server has answered a few hundred requests.
      await expect.poll(metrics, { timeout: 20_000, interval: 50 }).toBeGreaterThan(300);
      const termAt = performance.now();
      server.child.kill('SIGTERM');
      let status = 200;
      while (status === 200) status = (await fetch(`http://127.0.0.1:${server.port}/readyz`)).status;
      const unreadyMs = performance.now() - termAt;
      const exitCode = await server.exited;
      const exitMs = performance.now() - termAt;
      const r = await load;
      console.log(
        JSON.stringify({
          unreadyMs: Math.round(unreadyMs),
          exitMs: Math.round(exitMs),
          sent: r.sent,
          answered: r.answered,
          errored: r.errored,
          closeCodes: r.closeCodes,
          lost: r.lost,
        }),
      );
      expect(status).toBe(503);
      expect(unreadyMs).toBeLessThan(1000);
      expect(exitCode).toBe(0);
      expect(exitMs).toBeLessThan(DRAIN_TIMEOUT_MS);
      expect(r.closeCodes).toEqual({ 1001: 100 });
      expect(r.lost).toBe(0);
      expect(r.duplicates).toBe(0);
      // Nothing but answers, SHUTTING_DOWN for requests after the SIGTERM, what was still on the
      // wire when the socket closed, and — should a busy CI machine slow the worker that much —
      // QUEUE_FULL, which is a typed outcome too.
      expect(Object.keys(r.errored).filter((k) => !['SHUTTING_DOWN', 'closed-1001', 'QUEUE_FULL'].includes(k))).toEqual([]);
      expect(r.answered).toBeGreaterThan(300);
      expect(r.answered + Object.values(r.errored).reduce((a, b) => a + b, 0)).toBe(r.sent);
    } finally {
      await close();
    }
  }, 60_000);
});
