/**
 * Faults on the link, through the bench's shaping proxy (real sockets; this kernel has no netem):
 * packet loss charged as retransmission timeouts, and an outage. Every infer() must resolve
 * within its deadline after the head, by the edge or by local fallback with the reason recorded.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkProxy, type LinkProxy } from '../../link/proxy.js';
import { parseLink } from '../../link/profiles.js';
import { createDevice, type Device, type InferResult } from '../../head/index.js';
import { createEdgeServer, type EdgeServer } from '../../tail/index.js';
import { tinyModels, type Golden } from '../tail/client.js';

const DEADLINE_MS = 250;
/** Event-loop and scheduling slack on a shared 2-core machine (the deadline itself is a timer). */
const SLACK_MS = 150;

let models: string;
let golden: Golden;
let cleanup: () => Promise<void>;
let server: EdgeServer;
beforeAll(async () => {
  ({ models, golden, cleanup } = await tinyModels());
  server = await createEdgeServer({ models, port: 0, workers: 1 });
});
afterAll(async () => {
  await server.close();
  await cleanup();
});

/** Runs `n` sequential infers; checks each ends within its deadline after the head. */
async function stream(d: Device, n: number): Promise<InferResult[]> {
  const out: InferResult[] = [];
  for (let i = 0; i < n; i++) {
    const r = await d.infer(Uint8Array.from(golden.images[i % golden.images.length]!));
    expect(r.timings.total).toBeLessThan(r.timings.head + r.timings.encode + DEADLINE_MS + r.timings.local + SLACK_MS);
    expect(['edge', 'fallback']).toContain(r.path);
    if (r.path === 'fallback') expect(['timeout', 'disconnected']).toContain(r.reason);
    out.push(r);
  }
  return out;
}

/** A device that always offloads, connected through a proxy with link `spec`. */
async function behind<T>(spec: string, fn: (d: Device, p: LinkProxy) => Promise<T>): Promise<T> {
  const p = await createLinkProxy({ host: '127.0.0.1', port: server.address.port }, parseLink(spec).profile);
  const d = await createDevice({
    bundle: join(models, 'tiny'),
    edge: `ws://127.0.0.1:${p.port}`,
    policy: { force: 'always-offload' },
    deadlineMs: DEADLINE_MS,
  });
  try {
    expect(await d.whenConnected(5000)).toBe(true);
    return await fn(d, p);
  } finally {
    await d.close();
    await p.close();
  }
}

describe('faults on the link', () => {
  it('5% loss (each loss costs a 200 ms retransmission): every infer() ends by its deadline', async () => {
    const rs = await behind('loss5:5.85:12.74:70:0:0.05', (d) => stream(d, 40));
    expect(rs.filter((r) => r.path === 'edge').length).toBeGreaterThan(0);
  }, 60_000);

  it('30% loss: about half the requests miss the deadline and fall back with reason "timeout"', async () => {
    const rs = await behind('loss30:5.85:12.74:70:0:0.3', (d) => stream(d, 40));
    // A request crosses the link as one segment each way: P(no loss) = 0.7² ≈ 0.49, and one loss
    // (+200 ms on a 70 ms RTT) already passes the 250 ms deadline.
    const timeouts = rs.filter((r) => r.path === 'fallback' && r.reason === 'timeout').length;
    expect(timeouts).toBeGreaterThan(0);
    expect(rs.filter((r) => r.path === 'edge').length).toBeGreaterThan(0);
  }, 60_000);

  it('an outage: every request falls back by its deadline while the link is down, and the edge answers again after', async () => {
    await behind('lte', async (d, p) => {
      const up = parseLink('lte').profile;
      expect((await stream(d, 3)).every((r) => r.path === 'edge')).toBe(true);
      p.setProfile({ ...up, outages: [[0, 2 ** 31 - 1]] });
      const down = await stream(d, 5);
      expect(down.map((r) => `${r.path}:${r.reason}`)).toEqual(Array(5).fill('fallback:timeout'));
      p.setProfile(up);
      // What the outage held back drains first (late answers are dropped); then the edge answers.
      const back = await stream(d, 10);
      expect(back.slice(-3).every((r) => r.path === 'edge')).toBe(true);
    });
  }, 60_000);

  it("closes a device over a dead link after its 1 s grace (ws alone waits 30 s for the edge's closing handshake)", async () => {
    const up = parseLink('lte').profile;
    const p = await createLinkProxy({ host: '127.0.0.1', port: server.address.port }, up);
    try {
      const d = await createDevice({
        bundle: join(models, 'tiny'),
        edge: `ws://127.0.0.1:${p.port}`,
        policy: { force: 'always-offload' },
        deadlineMs: DEADLINE_MS,
      });
      expect(await d.whenConnected(5000)).toBe(true);
      p.setProfile({ ...up, outages: [[0, 2 ** 31 - 1]] });
      const t0 = performance.now();
      await d.close();
      const ms = performance.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(950); // the close frame never got through: the grace ran out
      expect(ms).toBeLessThan(5000);
    } finally {
      await p.close();
    }
  }, 60_000);
});
