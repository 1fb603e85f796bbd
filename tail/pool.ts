/**
 * A fixed pool of inference workers. The scheduler hands a batch to an idle worker, or queues a
 * full one behind the batch a worker is running (up to `depth` batches per worker): the next batch
 * is then already in the worker's inbox when the current one ends, so the worker does not wait
 * for the event loop (busy with sockets under load) between batches.
 */
import type { Worker } from 'node:worker_threads';
import { OfframpError } from '../protocol/errors.js';
import { spawnModuleWorker } from '../protocol/worker.js';
import type { OutputData, WorkerInit, WorkerMessage, WorkerReply } from './worker-protocol.js';

/** A batch's outputs (each for all samples, back to back), its compute time, and its input buffer handed back. */
export interface BatchResult {
  outputs: OutputData[];
  computeUs: number;
  /** The batch as sent (a view of the whole buffer that was transferred), free to be filled again. */
  input?: Float32Array;
}

interface Pending {
  resolve: (r: BatchResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  /** false while its worker starts (or after it kept dying): nothing is scheduled on it. */
  ready: boolean;
  /** Deaths since this slot last had a ready worker. */
  failures: number;
  /** Batches sent to the worker, oldest (running) first; the worker answers them in order. */
  pending: Pending[];
}

/** Batches a worker may hold: the one it runs and one waiting behind it. */
export const DEFAULT_DEPTH = 2;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  /** Called whenever a worker becomes idle. */
  onIdle: () => void = () => {};
  /** Called when a worker died and was replaced (for logs). */
  onRespawn: (reason: string) => void = () => {};

  private constructor(
    private readonly init: WorkerInit,
    private readonly depth: number,
  ) {}

  /** Starts `size` workers and resolves once each has loaded and warmed every graph. */
  static async start(init: WorkerInit, size: number, depth = DEFAULT_DEPTH): Promise<WorkerPool> {
    const pool = new WorkerPool(init, Math.max(1, Math.floor(depth)));
    await Promise.all(Array.from({ length: size }, () => pool.spawn())).catch(async (err: unknown) => {
      await pool.close();
      throw err;
    });
    return pool;
  }

  /**
   * Starts one worker in a new slot (or in `slot`, replacing a dead one); resolves when it is
   * ready. Nothing is scheduled on the slot until then.
   */
  private spawn(slot?: Slot): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const worker = spawnModuleWorker(import.meta.url, 'worker', this.init);
      const s: Slot = slot ?? { worker, ready: false, failures: 0, pending: [] };
      s.worker = worker;
      s.ready = false;
      if (!slot) this.slots.push(s);
      worker.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') {
          s.ready = true;
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

  /** Workers with nothing to do. */
  idleCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.ready && s.pending.length === 0) n++;
    return n;
  }

  /** Batches the workers can take now: an idle worker takes `depth`, a busy one what its depth leaves. */
  roomCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.ready) n += Math.max(0, this.depth - s.pending.length);
    return n;
  }

  /** Runs a batch on the least loaded worker with room; throws if none has (the scheduler checks first). */
  run(key: string, n: number, data: Float32Array): Promise<BatchResult> {
    let slot: Slot | undefined;
    for (const s of this.slots) if (s.ready && s.pending.length < this.depth && (!slot || s.pending.length < slot.pending.length)) slot = s;
    if (!slot || this.closed) return Promise.reject(new OfframpError('INTERNAL', 'no inference worker has room'));
    const chosen = slot;
    return new Promise((resolve, reject) => {
      chosen.pending.push({ resolve, reject });
      chosen.worker.postMessage({ type: 'run', id: this.nextId++, key, n, data } satisfies WorkerMessage, [data.buffer as ArrayBuffer]);
    });
  }

  private settle(slot: Slot, m: Extract<WorkerReply, { type: 'result' }>): void {
    const p = slot.pending.shift();
    if (p) {
      if (m.ok) p.resolve({ outputs: m.outputs, computeUs: m.computeUs, input: m.input });
      else p.reject(new OfframpError('INTERNAL', `inference failed: ${m.message}`));
    }
    this.onIdle();
  }

  /** A worker died: its batches end INTERNAL and a replacement starts in its slot. */
  private fail(slot: Slot, worker: Worker, err: Error): void {
    if (slot.worker !== worker || this.closed) return; // an old worker's late event, or shutdown
    slot.ready = false;
    for (const p of slot.pending.splice(0)) p.reject(new OfframpError('INTERNAL', `inference worker crashed: ${err.message}`));
    // A worker that keeps dying before it is ready is not restarted forever: the slot stays unready.
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
      for (const p of s.pending.splice(0)) p.reject(new OfframpError('SHUTTING_DOWN', 'the edge stopped while this batch ran', { retryAfterMs: 1000 }));
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
