/**
 * The batcher's sample buffers: a request decodes into a buffer the queue hands it, and once its
 * sample is copied into a batch that buffer serves the next request. The worker pool is a stand-in
 * here (what it computes does not matter, only what it is given); the real pool and onnxruntime
 * run in every server test, whose answers equal the exporter's golden numbers with these buffers
 * recycled between requests (test/tail/answers.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { WorkerPool } from '../../tail/pool.js';
import { Scheduler, type QueuedRequest } from '../../tail/scheduler.js';

/**
 * A pool with one idle worker that records each batch it is given (a copy, and the buffer itself)
 * and answers every sample with no outputs, handing the batch's buffer back as a worker does.
 */
function fakePool(computeUs = 10): { pool: WorkerPool; batches: Float32Array[]; sent: Float32Array[]; setBusy: (busy: boolean) => void } {
  const batches: Float32Array[] = [];
  const sent: Float32Array[] = [];
  let busy = false;
  const pool = {
    onIdle: () => {},
    size: 1,
    idleCount: () => (busy ? 0 : 1),
    roomCount: () => (busy ? 0 : 1),
    run: (_key: string, _n: number, data: Float32Array) => {
      batches.push(data.slice());
      sent.push(data);
      return Promise.resolve({ outputs: [], computeUs, input: data });
    },
  };
  return { pool: pool as unknown as WorkerPool, batches, sent, setBusy: (b) => (busy = b) };
}

function request(features: Float32Array): QueuedRequest & { done: Promise<void> } {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return { features, enqueuedAt: performance.now(), deadlineAt: Infinity, cancelled: false, resolve, reject: resolve, done };
}

describe('sample buffers', () => {
  it('a buffer whose sample went into a batch is the next one handed out; the batch holds what it held', async () => {
    const { pool, batches } = fakePool();
    const s = new Scheduler(pool, { maxBatch: 2, maxQueueDelayUs: 1e9, maxQueue: 8 }); // a batch when two wait
    s.addGraph('g', 3);
    const a = s.sampleBuffer('g');
    const b = s.sampleBuffer('g');
    expect(a).not.toBe(b);
    a.set([1, 2, 3]);
    b.set([4, 5, 6]);
    const [ra, rb] = [request(a), request(b)];
    s.enqueue('g', ra);
    s.enqueue('g', rb);
    await Promise.all([ra.done, rb.done]);
    expect(batches.map((x) => [...x])).toEqual([[1, 2, 3, 4, 5, 6]]);
    const next = [s.sampleBuffer('g'), s.sampleBuffer('g')];
    expect(next).toContain(a);
    expect(next).toContain(b);
    expect(s.sampleBuffer('g')).not.toBe(a); // none left: a new one
  });

  it('keeps at most 8 MiB of spare buffers per queue (a 224×224 RGB sample: 13 of them)', async () => {
    const { pool } = fakePool();
    const size = 3 * 224 * 224;
    const s = new Scheduler(pool, { maxBatch: 32, maxQueueDelayUs: 0, maxQueue: 64 });
    s.addGraph('img', size);
    const rs = Array.from({ length: 32 }, () => request(s.sampleBuffer('img')));
    for (const r of rs) s.enqueue('img', r);
    await Promise.all(rs.map((r) => r.done));
    const handed = new Set(rs.map((r) => r.features));
    let recycled = 0;
    for (let i = 0; i < 32; i++) if (handed.has(s.sampleBuffer('img'))) recycled++;
    expect(recycled).toBe(Math.floor((8 * 1024 * 1024) / (size * 4)));
  });

  it("a batch's buffer handed back by the worker carries the next batch (a view as long as that batch)", async () => {
    const { pool, batches, sent } = fakePool();
    const s = new Scheduler(pool, { maxBatch: 2, maxQueueDelayUs: 1e9, maxQueue: 8 });
    s.addGraph('g', 2);
    const fill = async (values: number[][]): Promise<void> => {
      const rs = values.map((v) => {
        const f = s.sampleBuffer('g');
        f.set(v);
        return request(f);
      });
      for (const r of rs) s.enqueue('g', r);
      await Promise.all(rs.map((r) => r.done));
    };
    await fill([
      [1, 2],
      [3, 4],
    ]);
    await fill([
      [5, 6],
      [7, 8],
    ]);
    expect(batches.map((x) => [...x])).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(sent[1]!.buffer).toBe(sent[0]!.buffer);
  });

  it('does not keep a handed-back batch buffer larger than 8 MiB (32 samples of 224×224 RGB: 19 MB)', async () => {
    const { pool, sent } = fakePool();
    const size = 3 * 224 * 224;
    const s = new Scheduler(pool, { maxBatch: 32, maxQueueDelayUs: 1e9, maxQueue: 64 });
    s.addGraph('img', size);
    for (let round = 0; round < 2; round++) {
      const rs = Array.from({ length: 32 }, () => request(s.sampleBuffer('img')));
      for (const r of rs) s.enqueue('img', r);
      await Promise.all(rs.map((r) => r.done));
    }
    expect(sent).toHaveLength(2);
    expect(sent[0]!.byteLength).toBe(32 * size * 4);
    expect(sent[1]!.buffer === sent[0]!.buffer, "the second batch reused the first one's buffer").toBe(false); // (a 19 MB buffer in a failure message would sink the runner)
  });
});

describe('QUEUE_FULL', () => {
  /**
   * A scheduler whose queue `g` has seen one batch of one sample take 10 ms (so it drains 10 ms
   * per queued request, one worker), then whose worker stays busy: what is enqueued stays queued.
   */
  async function busyAfterOneBatch(maxQueue: number, random: () => number): Promise<Scheduler> {
    const { pool, setBusy } = fakePool(10_000);
    const s = new Scheduler(pool, { maxBatch: 1, maxQueueDelayUs: 0, maxQueue }, {}, random);
    s.addGraph('g', 1);
    const first = request(s.sampleBuffer('g'));
    s.enqueue('g', first);
    await first.done;
    setBusy(true);
    return s;
  }

  it("suggests the queue's drain time as retry_after_ms, spread at random over half to one and a half of it", async () => {
    const draws = [0, 0.5, 0.9999];
    const s = await busyAfterOneBatch(4, () => draws.shift() ?? 0);
    for (let i = 0; i < 4; i++) s.enqueue('g', request(s.sampleBuffer('g')));
    // 4 queued × 10 ms on one worker: drains in 40 ms.
    const refusals = [s.full('g', undefined, 7), s.full('g'), s.full('g')];
    expect(refusals.map((e) => [e?.code, e?.retryAfterMs])).toEqual([
      ['QUEUE_FULL', 20],
      ['QUEUE_FULL', 40],
      ['QUEUE_FULL', 60],
    ]);
    expect(refusals[0]).toMatchObject({ requestId: 7, message: 'queue for g holds 4 requests' });
    expect(() => s.enqueue('g', request(s.sampleBuffer('g')))).toThrow('queue for g holds 4 requests');
  });

  it('past a deadline: the time until the request would fit it, spread the same way', async () => {
    const s = await busyAfterOneBatch(64, () => 0);
    for (let i = 0; i < 4; i++) s.enqueue('g', request(s.sampleBuffer('g')));
    expect(s.full('g', 40)).toBeNull(); // a 40 ms wait fits a 40 ms deadline
    expect(s.full('g', 30)).toMatchObject({
      code: 'QUEUE_FULL',
      retryAfterMs: 5,
      message: 'queue for g would keep this request 40 ms, past its deadline of 30 ms',
    });
  });
});
