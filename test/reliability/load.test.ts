/**
 * Bounded versions of the reliability promises, with real sockets: every request id ends in
 * exactly one answer or one typed error — under steady load and under overload.
 * (Full sizes: `npm run soak`, `npm run storm`.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionStorm, runLoad } from '../../bench/reliability/load.js';
import type { LoadedBundle } from '../../protocol/bundle.js';
import { createEdgeServer, type EdgeServer } from '../../tail/index.js';
import { tinyModels } from '../tail/client.js';

let models: string;
let bundle: LoadedBundle;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ models, bundle, cleanup } = await tinyModels());
});
afterAll(async () => {
  await cleanup();
});

async function withServer<T>(over: Parameters<typeof createEdgeServer>[0] extends infer O ? Partial<O> : never, fn: (s: EdgeServer) => Promise<T>): Promise<T> {
  const s = await createEdgeServer({ models, port: 0, workers: 1, ...over });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe('every request id ends in exactly one outcome', () => {
  it('steady load: 200 connections × 1 req/s for 30 s — nothing lost, nothing twice, nothing refused', async () => {
    const r = await withServer({}, (s) => runLoad({ url: s.url, bundle, connections: 200, rate: 1, seconds: 30, deadlineMs: 5000 }));
    expect(r.connected).toBe(200);
    expect(r.sent).toBeGreaterThan(5500);
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(r.errored).toEqual({});
    expect(r.answered).toBe(r.sent);
  }, 90_000);

  it('connection storm: 2,000 handshakes (upgrade + Hello), none refused or dropped', async () => {
    const r = await withServer({}, (s) => connectionStorm({ url: s.url, bundle, connections: 2000 }));
    expect(r.failed).toEqual({});
    expect(r.handshaken).toBe(2000);
  }, 60_000);

  it('overload: a tiny queue sheds the excess with QUEUE_FULL, and still every id gets one outcome', async () => {
    const r = await withServer({ maxQueue: 4, maxBatch: 4, maxQueueDelayUs: 5000 }, (s) =>
      runLoad({ url: s.url, bundle, connections: 100, rate: 100, seconds: 3, deadlineMs: 2000 }),
    );
    expect(r.lost).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(Object.keys(r.errored).every((code) => code === 'QUEUE_FULL' || code === 'DEADLINE_EXCEEDED')).toBe(true);
    expect(r.errored.QUEUE_FULL ?? 0).toBeGreaterThan(0);
    expect(r.answered).toBeGreaterThan(0);
    expect(r.answered + Object.values(r.errored).reduce((a, b) => a + b, 0)).toBe(r.sent);
  }, 60_000);
});
