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
    expect(r.logits.length).toBe(30);
    expect(pool.idleCount()).toBe(2);
  });

  it('ends the batch of a dying worker with INTERNAL and replaces the worker', async () => {
    const respawned = new Promise<string>((resolve) => { pool.onRespawn = resolve; });
    const idleAgain = new Promise<void>((resolve) => {
      pool.onIdle = () => { if (pool.idleCount() === 2) resolve(); };
    });
    // A batch big enough (~0.5 GMAC) that the worker is still computing when it is killed.
    const running = pool.run(key, 50_000, new Float32Array(50_000 * 98));
    const dying = pool.threads.find((_, i) => i === 0)!;
    await dying.terminate();
    await expect(running).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/^inference worker crashed: inference worker exited with code 1$/) });
    expect(await respawned).toMatch(/exited/);
    await idleAgain;
    expect(pool.threads[0]).not.toBe(dying);
    const r = await pool.run(key, 1, new Float32Array(98));
    expect(r.logits.length).toBe(10);
  });
});
