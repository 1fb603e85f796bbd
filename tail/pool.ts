/** A fixed pool of inference workers; the scheduler hands a batch to an idle one. */
import type { Worker } from 'node:worker_threads';
import { OfframpError } from '../protocol/errors.js';
import { spawnModuleWorker } from '../protocol/worker.js';
import type { OutputData, WorkerInit, WorkerMessage, WorkerReply } from './worker-protocol.js';

/** A batch's outputs (each for all samples, back to back) and its compute time. */
export interface BatchResult {
  outputs: OutputData[];
  computeUs: number;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  /** Deaths since this slot last had a ready worker. */
  failures: number;
  pending?: { resolve: (r: BatchResult) => void; reject: (e: Error) => void };
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  /** Called whenever a worker becomes idle. */
  onIdle: () => void = () => {};
  /** Called when a worker died and was replaced (for logs). */
  onRespawn: (reason: string) => void = () => {};

  private constructor(private readonly init: WorkerInit) {}

  /** Starts `size` workers and resolves once each has loaded and warmed every graph. */
  static async start(init: WorkerInit, size: number): Promise<WorkerPool> {
    const pool = new WorkerPool(init);
    await Promise.all(Array.from({ length: size }, () => pool.spawn())).catch(async (err: unknown) => {
      await pool.close();
      throw err;
    });
    return pool;
  }

  /**
   * Starts one worker in a new slot (or in `slot`, replacing a dead one); resolves when it is
   * ready. The slot stays busy until then, so nothing is scheduled on it.
   */
  private spawn(slot?: Slot): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const worker = spawnModuleWorker(import.meta.url, 'worker', this.init);
      const s: Slot = slot ?? { worker, busy: true, failures: 0 };
      s.worker = worker;
      s.busy = true;
      if (!slot) this.slots.push(s);
      worker.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') {
          s.busy = false;
          s.failures = 0;
          resolve();
          this.onIdle();
        } else if (m.type === 'failed') reject(new OfframpError('INTERNAL', `inference worker failed to start: ${m.message}`));
        else this.settle(s, m);
      });
      worker.on('error', (err) => {
        reject(err);
        this.fail(s, worker, err);
      });
      worker.on('exit', (code) => this.fail(s, worker, new Error(`inference worker exited with code ${code}`)));
    });
  }

  /** The worker threads (diagnostics and tests). */
  get threads(): readonly Worker[] {
    return this.slots.map((s) => s.worker);
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
  run(key: string, n: number, data: Float32Array): Promise<BatchResult> {
    const slot = this.slots.find((s) => !s.busy);
    if (!slot || this.closed) return Promise.reject(new OfframpError('INTERNAL', 'no idle inference worker'));
    slot.busy = true;
    return new Promise((resolve, reject) => {
      slot.pending = { resolve, reject };
      slot.worker.postMessage({ type: 'run', id: this.nextId++, key, n, data } satisfies WorkerMessage, [data.buffer as ArrayBuffer]);
    });
  }

  private settle(slot: Slot, m: Extract<WorkerReply, { type: 'result' }>): void {
    const p = slot.pending;
    slot.pending = undefined;
    slot.busy = false;
    if (p) {
      if (m.ok) p.resolve({ outputs: m.outputs, computeUs: m.computeUs });
      else p.reject(new OfframpError('INTERNAL', `inference failed: ${m.message}`));
    }
    this.onIdle();
  }

  /** A worker died: its batch ends INTERNAL and a replacement starts in its slot. */
  private fail(slot: Slot, worker: Worker, err: Error): void {
    if (slot.worker !== worker || this.closed) return; // an old worker's late event, or shutdown
    const p = slot.pending;
    slot.pending = undefined;
    slot.busy = true;
    if (p) p.reject(new OfframpError('INTERNAL', `inference worker crashed: ${err.message}`));
    // A worker that keeps dying before it is ready is not restarted forever: the slot stays busy.
    if (++slot.failures > 3) return;
    this.onRespawn(err.message);
    this.spawn(slot).catch(() => {});
  }

  /**
   * Stops every worker; batches still running end with SHUTTING_DOWN at once. Each worker is
   * asked to stop and exits after the batch in hand (terminating one mid-run would abort the
   * process); one that has not exited after `graceMs` is terminated.
   */
  async close(graceMs = 30_000): Promise<void> {
    this.closed = true;
    for (const s of this.slots) {
      s.pending?.reject(new OfframpError('SHUTTING_DOWN', 'the edge stopped while this batch ran', { retryAfterMs: 1000 }));
      s.pending = undefined;
    }
    await Promise.all(
      this.slots.map(async (s) => {
        const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
        if (s.worker.threadId < 0) return; // already gone
        s.worker.postMessage({ type: 'stop' } satisfies WorkerMessage);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), graceMs);
        });
        if ((await Promise.race([exited, late])) === 'late') await s.worker.terminate();
        clearTimeout(timer);
      }),
    );
  }
}
