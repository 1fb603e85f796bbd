import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerPool } from '../../tail/pool.js';
import { loadRegistry, workerGraphs } from '../../tail/registry.js';

const MODELS = join(import.meta.dirname, '..', 'fixtures');

describe('WorkerPool', () => {
  let pool: WorkerPool;
  let key: string;
  beforeAll(async () => {
    // test/fixtures holds one bundle folder (tiny): a registry of one.
    const graphs = workerGraphs(await loadRegistry(MODELS));
    key = graphs.find((g) => g.key.endsWith('/tail'))!.key;
    pool = await WorkerPool.start({ graphs, intraOpThreads: 1, spinning: false }, 2);
  });
  afterAll(async () => {
    await pool.close();
  });

  it('runs batches on idle workers', async () => {
    expect(pool.idleCount()).toBe(2);
    const r = await pool.run(key, 3, new Float32Array(3 * 98).fill(0.5));
    // One array per manifest output (logits), all samples back to back.
    expect(r.outputs).toHaveLength(1);
    expect(r.outputs[0]).toBeInstanceOf(Float32Array);
    expect(r.outputs[0]!.length).toBe(30);
    expect(r.computeUs).toBeGreaterThan(0);
    expect(pool.idleCount()).toBe(2);
  });

  it('queues a second batch behind the one a worker runs (two per worker), and refuses a fifth', async () => {
    expect(pool.roomCount()).toBe(4);
    const batches = [1, 2, 3, 4].map((n) => pool.run(key, n, new Float32Array(n * 98).fill(0.25 * n)));
    expect(pool.idleCount()).toBe(0);
    expect(pool.roomCount()).toBe(0);
    await expect(pool.run(key, 1, new Float32Array(98))).rejects.toMatchObject({ code: 'INTERNAL', message: 'no inference worker has room' });
    const results = await Promise.all(batches);
    // Each batch's own answer: 10 logits per sample, in the order the batches were sent.
    expect(results.map((r) => r.outputs[0]!.length)).toEqual([10, 20, 30, 40]);
    expect(pool.roomCount()).toBe(4);
    expect(pool.idleCount()).toBe(2);
  });

  it('ends the batch of a dying worker with INTERNAL and replaces the worker', async () => {
    const respawned = new Promise<string>((resolve) => {
      pool.onRespawn = resolve;
    });
    const idleAgain = new Promise<void>((resolve) => {
      pool.onIdle = () => {
        if (pool.idleCount() === 2) resolve();
      };
    });
    // Not a big batch: killing a worker while onnxruntime-node computes aborts the whole process
    // (a Napi::Error thrown on the dying thread → std::terminate), so the kill lands between runs.
    const running = pool.run(key, 1, new Float32Array(98));
    const dying = pool.threads.find((_, i) => i === 0)!;
    await dying.terminate();
    // The batch ends in exactly one outcome: INTERNAL when the worker died first, or its answer
    // when the tiny batch finished before the kill landed (a race the test cannot close).
    const outcome = await running.then(
      (r) => r.outputs[0]!.length,
      (e: unknown) => e,
    );
    if (typeof outcome !== 'number')
      expect(outcome).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/^inference worker crashed: inference worker exited with code 1$/) });
    else expect(outcome).toBe(10);
    expect(await respawned).toMatch(/exited/);
    await idleAgain;
    expect(pool.threads[0]).not.toBe(dying);
    const r = await pool.run(key, 1, new Float32Array(98));
    expect(r.outputs[0]!.length).toBe(10);
  });
});

describe('WorkerPool.close()', () => {
  it('lets a worker finish the batches in hand and exit (terminating it mid-run would abort the process)', async () => {
    const graphs = workerGraphs(await loadRegistry(MODELS));
    const full = graphs.find((g) => g.key.endsWith('/full'))!;
    const pool = await WorkerPool.start({ graphs: [full], intraOpThreads: 1, spinning: false }, 1);
    const [worker] = pool.threads;
    const exitCode = new Promise<number>((resolve) => worker!.once('exit', resolve));
    // 8,192 images take the worker a while; the stop is queued behind the batch, so it arrives mid-run.
    const running = pool.run(full.key, 8192, new Float32Array(8192 * full.sampleSize).fill(0.5));
    // A second batch waits in the worker's inbox behind the first: it ends the same way.
    const queued = pool.run(full.key, 16, new Float32Array(16 * full.sampleSize).fill(0.5));
    const ended = Promise.all([running, queued].map((p) => expect(p).rejects.toMatchObject({ code: 'SHUTTING_DOWN' })));
    await pool.close();
    await ended;
    expect(await exitCode).toBe(0); // exited by itself, not terminated (terminate gives 1)
  });
});
