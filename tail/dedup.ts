/**
 * The dedup window: a device that names itself (Hello.device_id) and retries a request id after a
 * reconnect gets the first execution's outcome — attached to it while it runs, or from here once
 * it ran — and the work runs at most once. Only computed answers are kept: an id that ended
 * without running (queue full, deadline, shutdown, a crashed worker) may run again on retry.
 * Bounded: answers expire after `windowMs`, and beyond `maxBytes` (their estimated size: a
 * 1,000-class answer is ~8 KB as JS numbers) the oldest go first. Running executions are bounded
 * by the queues.
 */
import type { AnswerInit, ErrorInit } from '../protocol/messages.js';

/** How a request ends: an answer or an error (its id is filled in per delivery). */
export type Outcome = { type: 'answer'; answer: AnswerInit } | { type: 'error'; error: ErrorInit };

interface Entry {
  digest: string;
  /** Set once the first execution ended with an answer. */
  outcome: Outcome | undefined;
  /** Who waits for the running execution (the first sender, then any retries). */
  waiters: Set<(o: Outcome) => void>;
  /** Expiry, ms on performance.now()'s clock (set when it finishes). */
  expiresAt: number;
  /** Estimated size of the kept outcome, bytes (set when it finishes). */
  bytes: number;
}

/** Estimated memory an outcome holds while kept: its numbers as JS doubles, its text, overhead. */
export function outcomeBytes(o: Outcome): number {
  if (o.type === 'error') return 2 * (o.error.message?.length ?? 0) + 256;
  const a = o.answer;
  let tensors = 0;
  for (const t of a.outputs ?? []) tensors += (t.data?.length ?? 0) + 8 * (t.shape?.length ?? 0) + 128;
  return 8 * ((a.scores?.length ?? 0) + (a.topLabels?.length ?? 0)) + tensors + 256;
}

export type Admission =
  /** Not seen: run it, then call finish(). */
  | { kind: 'new' }
  /** Running already: `deliver` will be called with its outcome. */
  | { kind: 'attached' }
  /** Ran already: here is its answer. */
  | { kind: 'done'; outcome: Outcome }
  /** The same id with a different payload: a device bug, not a retry. */
  | { kind: 'conflict' };

export class DedupWindow {
  /** Executions in progress. */
  private readonly running = new Map<string, Entry>();
  /** Finished executions, in finishing order (so the oldest is first). */
  private readonly done = new Map<string, Entry>();
  private doneBytes = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxBytes: number,
  ) {}

  /** Entries held (running and finished). */
  get size(): number {
    return this.running.size + this.done.size;
  }

  /**
   * Admits request `key` (scoped by the caller: bundle, device id, request id) whose payload
   * hashes to `digest`; `deliver` gets the outcome when it is 'new' or 'attached'.
   */
  admit(key: string, digest: string, deliver: (o: Outcome) => void, now = performance.now()): Admission {
    this.evict(now);
    const finished = this.done.get(key);
    if (finished) return finished.digest === digest ? { kind: 'done', outcome: finished.outcome! } : { kind: 'conflict' };
    const e = this.running.get(key);
    if (!e) {
      this.running.set(key, { digest, outcome: undefined, waiters: new Set([deliver]), expiresAt: Infinity, bytes: 0 });
      return { kind: 'new' };
    }
    if (e.digest !== digest) return { kind: 'conflict' };
    e.waiters.add(deliver);
    return { kind: 'attached' };
  }

  /**
   * Ends the execution of `key`: every waiter gets `outcome`. A computed answer (`executed`) is
   * kept for the window; anything else is forgotten so that a retry runs.
   */
  finish(key: string, outcome: Outcome, executed: boolean, now = performance.now()): void {
    const e = this.running.get(key);
    if (!e) return;
    this.running.delete(key);
    if (executed) {
      e.outcome = outcome;
      e.expiresAt = now + this.windowMs;
      e.bytes = outcomeBytes(outcome) + 2 * key.length + e.digest.length;
      this.done.set(key, e);
      this.doneBytes += e.bytes;
    }
    const waiters = [...e.waiters];
    e.waiters.clear();
    for (const w of waiters) w(outcome);
  }

  /** Stops delivering to `deliver` (its connection closed); the execution goes on. */
  detach(key: string, deliver: (o: Outcome) => void): void {
    this.running.get(key)?.waiters.delete(deliver);
  }

  private evict(now: number): void {
    for (const [key, e] of this.done) {
      if (e.expiresAt > now && this.doneBytes <= this.maxBytes) break;
      this.done.delete(key);
      this.doneBytes -= e.bytes;
    }
  }
}
