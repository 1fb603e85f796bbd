/**
 * The dynamic batcher (Triton's semantics): one bounded queue per model graph; a batch is formed
 * when a worker is idle and either `maxBatch` requests wait or the oldest has waited
 * `maxQueueDelayUs`. A full batch also goes to a busy worker with room in its pipeline (the pool's
 * depth), so that under load the next batch waits in the worker, not on this thread. Requests
 * whose deadline passed are answered DEADLINE_EXCEEDED and never run.
 */
import { OfframpError } from '../protocol/errors.js';
import type { WorkerPool } from './pool.js';
import type { OutputData } from './worker-protocol.js';

/** One sample's share of a batch: each output's values for it (views into the batch's arrays). */
export interface SampleResult {
  outputs: OutputData[];
  queueUs: number;
  computeUs: number;
  batchSize: number;
}

/** One queued sample. Exactly one of `resolve` / `reject` is called, once. */
export interface QueuedRequest {
  features: Float32Array;
  enqueuedAt: number;
  deadlineAt: number;
  cancelled: boolean;
  resolve(r: SampleResult): void;
  reject(e: OfframpError): void;
}

interface Queue {
  key: string;
  sampleSize: number;
  items: QueuedRequest[];
  /** Sample buffers whose features went into a batch, for the next requests to decode into (at most `maxSpare`). */
  spare: Float32Array[];
  maxSpare: number;
  /** Batch buffers the workers handed back, for the next batches. */
  spareBatches: Float32Array[];
  /** Compute time per sample, µs (EWMA over batches): how long the queue takes to drain. */
  perSampleUs: number;
}

export interface SchedulerOptions {
  maxBatch: number;
  maxQueueDelayUs: number;
  maxQueue: number;
}

/** Observations for metrics. */
export interface SchedulerHooks {
  onBatch?(key: string, size: number, computeUs: number): void;
}

/** Bytes of spare buffers a queue keeps, of samples and of batches each (fmnist-b32: 1,300 samples; a 224×224 RGB image: 13). */
const SPARE_BYTES = 8 * 1024 * 1024;

export class Scheduler {
  private readonly queues = new Map<string, Queue>();
  /** The same queues in the order added, for the batcher's round robin. */
  private readonly queueList: Queue[] = [];
  private timer: NodeJS.Timeout | undefined;
  private rr = 0;
  /** Requests cancelled since the queues were last swept of them (a refusal sweeps only then). */
  private cancelledSinceSweep = 0;

  constructor(
    private readonly pool: WorkerPool,
    private readonly opts: SchedulerOptions,
    private readonly hooks: SchedulerHooks = {},
    /** Uniform in [0, 1): spreads retry_after_ms (tests pass a fixed one). */
    private readonly random: () => number = Math.random,
  ) {
    pool.onIdle = () => this.pump();
  }

  addGraph(key: string, sampleSize: number): void {
    const q: Queue = { key, sampleSize, items: [], spare: [], maxSpare: Math.floor(SPARE_BYTES / (4 * sampleSize)), spareBatches: [], perSampleUs: 0 };
    this.queues.set(key, q);
    this.queueList.push(q);
  }

  /**
   * A buffer for one sample of `key` to be decoded into and queued (`features`): one the queue
   * handed back once an earlier sample was copied into its batch, else a new one. Under load the
   * same few MB cycle instead of one new array per request, which lived as long as the request
   * waited and so survived young-generation collections.
   */
  sampleBuffer(key: string): Float32Array {
    const q = this.queues.get(key);
    if (!q) throw new OfframpError('INTERNAL', `no queue for ${key}`);
    return q.spare.pop() ?? new Float32Array(q.sampleSize);
  }

  /** Queued requests across all graphs. */
  depth(): number {
    let n = 0;
    for (const q of this.queueList) n += q.items.length;
    return n;
  }

  /** Queued requests per graph. */
  depths(): [string, number][] {
    return this.queueList.map((q) => [q.key, q.items.length]);
  }

  /** How long `key`'s queue takes to drain with every worker on it, ms (0 before a batch ran). */
  expectedWaitMs(key: string): number {
    const q = this.queues.get(key);
    if (!q) return 0;
    return (q.items.length * q.perSampleUs) / 1000 / Math.max(1, this.pool.size);
  }

  /**
   * QUEUE_FULL (with a suggested retry_after_ms) if `key`'s queue has no room, or if a request
   * joining it now would wait past `deadlineMs` (admission at enqueue time: what would only expire
   * in the queue is refused at once, and the queue stays as long as its work fits the deadline);
   * else null. Checked before a request's payload is decoded, so shedding load stays cheap.
   */
  full(key: string, deadlineMs?: number, requestId?: number): OfframpError | null {
    const q = this.queues.get(key);
    if (!q) return new OfframpError('INTERNAL', `no queue for ${key}`);
    const wait = this.expectedWaitMs(key);
    if (q.items.length < this.opts.maxQueue && (deadlineMs === undefined || wait <= deadlineMs)) return null;
    // Requests ended while queued (their connection closed, a duplicate id) hold no slot.
    if (this.cancelledSinceSweep > 0) {
      for (const other of this.queues.values()) other.items = other.items.filter((r) => !r.cancelled);
      this.cancelledSinceSweep = 0;
    }
    const waitNow = this.expectedWaitMs(key);
    if (q.items.length < this.opts.maxQueue && (deadlineMs === undefined || waitNow <= deadlineMs)) return null;
    // The time the queue takes to drain what it holds (past the deadline: until the request would
    // fit), spread at random over half to one and a half of it: devices refused in the same burst
    // then come back one by one, not all at once into a queue that fills again.
    const drainMs = deadlineMs !== undefined && waitNow > deadlineMs ? waitNow - deadlineMs : waitNow;
    const retryAfterMs = Math.max(1, Math.round(drainMs * (0.5 + this.random())));
    const why =
      q.items.length >= this.opts.maxQueue
        ? `holds ${q.items.length} requests`
        : `would keep this request ${Math.round(waitNow)} ms, past its deadline of ${deadlineMs} ms`;
    return OfframpError.unstacked('QUEUE_FULL', `queue for ${key} ${why}`, { retryAfterMs, ...(requestId !== undefined ? { requestId } : {}) });
  }

  /** Ends a request's wait: it is skipped when its batch forms, and frees its slot at the next refusal. */
  cancel(r: QueuedRequest): void {
    if (r.cancelled) return;
    r.cancelled = true;
    this.cancelledSinceSweep++;
  }

  /**
   * Queues a request, or throws QUEUE_FULL at once. A connection has just admitted it with
   * `full()` (its deadline included); here only the cap is checked again, for direct callers, so
   * the request path computes its admission once.
   */
  enqueue(key: string, r: QueuedRequest): void {
    const q = this.queues.get(key);
    if (!q) throw new OfframpError('INTERNAL', `no queue for ${key}`);
    if (q.items.length >= this.opts.maxQueue) {
      const refused = this.full(key);
      if (refused) throw refused;
    }
    q.items.push(r);
    this.pump();
  }

  /**
   * Forms and dispatches every batch that is due while workers are idle, then every full batch a
   * busy worker has room to queue behind its own.
   */
  pump(): void {
    const now = performance.now();
    const delayMs = this.opts.maxQueueDelayUs / 1000;
    this.roundRobin(now, delayMs, true);
    this.roundRobin(now, Infinity, false);
    let nextDue = Infinity;
    if (this.pool.idleCount() > 0) {
      for (const q of this.queueList) if (q.items.length) nextDue = Math.min(nextDue, q.items[0]!.enqueuedAt + delayMs);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (nextDue !== Infinity && this.pool.idleCount() > 0) {
      this.timer = setTimeout(() => this.pump(), Math.max(0, nextDue - performance.now()));
    }
  }

  /**
   * Dispatches from the queues in turn, starting after the last one served, from a queue holding
   * a full batch or whose oldest request waited `delayMs`: while a worker is idle (`idle`), or
   * while a busy worker has room for its next batch.
   */
  private roundRobin(now: number, delayMs: number, idle: boolean): void {
    const queues = this.queueList;
    for (let turn = 0; turn < queues.length && (idle ? this.pool.idleCount() : this.pool.roomCount()) > 0;) {
      const q = queues[(this.rr + turn) % queues.length]!;
      const n = q.items.length;
      if (n > 0 && (n >= this.opts.maxBatch || now >= q.items[0]!.enqueuedAt + delayMs)) {
        this.dispatch(q, now);
        this.rr = (this.rr + turn + 1) % queues.length;
        turn = 0; // start over: another queue may be ready too
      } else turn++;
    }
  }

  private dispatch(q: Queue, now: number): void {
    // Take up to maxBatch live requests from the front; expired ones end here, uncomputed.
    const batch: QueuedRequest[] = [];
    let taken = 0;
    while (taken < q.items.length && batch.length < this.opts.maxBatch) {
      const r = q.items[taken++]!;
      if (r.cancelled) continue;
      if (r.deadlineAt <= now) r.reject(new OfframpError('DEADLINE_EXCEEDED', 'the deadline passed while the request was queued; it was not computed'));
      else batch.push(r);
    }
    q.items.splice(0, taken);
    const n = batch.length;
    if (n === 0) return;
    const data = this.batchBuffer(q, n);
    batch.forEach((r, i) => data.set(r.features, i * q.sampleSize));
    // Copied: the sample buffers serve the next requests (at most SPARE_BYTES of them per queue).
    for (const r of batch) if (q.spare.length < q.maxSpare && r.features.length === q.sampleSize) q.spare.push(r.features);
    const queueUs = batch.map((r) => Math.round((now - r.enqueuedAt) * 1000));
    this.pool.run(q.key, n, data).then(
      ({ outputs, computeUs, input }) => {
        if (input) this.recycleBatch(q, input);
        q.perSampleUs = q.perSampleUs === 0 ? computeUs / n : q.perSampleUs + 0.2 * (computeUs / n - q.perSampleUs);
        this.hooks.onBatch?.(q.key, n, computeUs);
        batch.forEach((r, i) => {
          if (r.cancelled) return;
          try {
            const mine = outputs.map((o) => {
              const per = o.length / n;
              return o.subarray(i * per, (i + 1) * per);
            });
            r.resolve({ outputs: mine, queueUs: queueUs[i]!, computeUs, batchSize: n });
          } catch (err) {
            r.reject(new OfframpError('INTERNAL', `answering failed: ${String(err)}`));
          }
        });
      },
      (err: unknown) => {
        const e = err instanceof OfframpError ? err : new OfframpError('INTERNAL', String(err));
        for (const r of batch) if (!r.cancelled) r.reject(e);
      },
    );
  }

  /**
   * `n` samples' room, in a buffer a worker handed back when one is large enough (under load every
   * batch is full, so every buffer is), else a new one of that size; always exactly `n` samples
   * long (a view), the whole buffer transferred with it.
   */
  private batchBuffer(q: Queue, n: number): Float32Array {
    const need = n * q.sampleSize;
    const i = q.spareBatches.findIndex((b) => b.length >= need);
    const b = i >= 0 ? q.spareBatches.splice(i, 1)[0]! : new Float32Array(need);
    return b.length === need ? b : b.subarray(0, need);
  }

  /** Keeps a handed-back batch buffer for the next batch, within SPARE_BYTES of them per queue. */
  private recycleBatch(q: Queue, input: Float32Array): void {
    const whole = new Float32Array(input.buffer);
    const held = q.spareBatches.reduce((bytes, b) => bytes + b.byteLength, 0);
    if (whole.length >= q.sampleSize && held + whole.byteLength <= SPARE_BYTES) q.spareBatches.push(whole);
  }

  /** Rejects everything still queued (shutdown). */
  rejectAll(e: OfframpError): void {
    for (const q of this.queues.values()) {
      for (const r of q.items) if (!r.cancelled) r.reject(e);
      q.items = [];
    }
    if (this.timer) clearTimeout(this.timer);
  }
}
