/** A fixed pool of inference workers; the scheduler hands a batch to an idle one. */
import type { Worker } from 'node:worker_threads';
import { OfframpError } from '../protocol/errors.js';
import { spawnModuleWorker } from '../protocol/worker.js';
import type { WorkerInit, WorkerReply } from './worker-protocol.js';

interface Slot {
  worker: Worker;
  busy: boolean;
  pending?: { resolve: (r: { logits: Float32Array; computeUs: number }) => void; reject: (e: Error) => void };
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  /** Called whenever a worker becomes idle. */
  onIdle: () => void = () => {};

  private constructor() {}

  /** Starts `size` workers and resolves once each has loaded and warmed every graph. */
  static async start(init: WorkerInit, size: number): Promise<WorkerPool> {
    const pool = new WorkerPool();
    await Promise.all(
      Array.from({ length: size }, () => new Promise<void>((resolve, reject) => {
        const worker = spawnModuleWorker(import.meta.url, 'worker', init);
        const slot: Slot = { worker, busy: false };
        pool.slots.push(slot);
        worker.on('message', (m: WorkerReply) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'failed') reject(new OfframpError('INTERNAL', `inference worker failed to start: ${m.message}`));
          else pool.settle(slot, m);
        });
        worker.on('error', (err) => {
          reject(err);
          pool.fail(slot, err);
        });
        worker.on('exit', (code) => {
          if (!pool.closed) pool.fail(slot, new Error(`inference worker exited with code ${code}`));
        });
      })),
    ).catch(async (err: unknown) => {
      await pool.close();
      throw err;
    });
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  idleCount(): number {
    let n = 0;
    for (const s of this.slots) if (!s.busy) n++;
    return n;
  }

  /** Runs a batch on an idle worker; throws if none is idle (the scheduler checks first). */
  run(key: string, n: number, data: Float32Array): Promise<{ logits: Float32Array; computeUs: number }> {
    const slot = this.slots.find((s) => !s.busy);
    if (!slot || this.closed) return Promise.reject(new OfframpError('INTERNAL', 'no idle inference worker'));
    slot.busy = true;
    return new Promise((resolve, reject) => {
      slot.pending = { resolve, reject };
      slot.worker.postMessage({ id: this.nextId++, key, n, data }, [data.buffer as ArrayBuffer]);
    });
  }

  private settle(slot: Slot, m: Extract<WorkerReply, { type: 'result' }>): void {
    const p = slot.pending;
    slot.pending = undefined;
    slot.busy = false;
    if (p) {
      if (m.ok) p.resolve({ logits: m.logits, computeUs: m.computeUs });
      else p.reject(new OfframpError('INTERNAL', `inference failed: ${m.message}`));
    }
    this.onIdle();
  }

  private fail(slot: Slot, err: Error): void {
    const p = slot.pending;
    slot.pending = undefined;
    if (p) p.reject(new OfframpError('INTERNAL', `inference worker crashed: ${err.message}`));
    slot.busy = true; // never schedule on a dead worker again
  }

  /** Stops every worker; batches still running end with SHUTTING_DOWN. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.slots) {
      s.pending?.reject(new OfframpError('SHUTTING_DOWN', 'the edge stopped while this batch ran', { retryAfterMs: 1000 }));
      s.pending = undefined;
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
