import { describe, expect, it } from 'vitest';
import { DedupWindow, outcomeBytes, type Outcome } from '../../tail/dedup.js';

const answer = (label: number): Outcome => ({
  type: 'answer',
  answer: { id: 1, label, confidence: 200, scores: [1], timings: { queueUs: 1, decodeUs: 1, computeUs: 1, batchSize: 1 } },
});
const refused: Outcome = { type: 'error', error: { id: 1, code: 7, message: 'full', retryAfterMs: 5 } };

describe('DedupWindow', () => {
  it('runs a key once: the first admit runs, a retry attaches, later ones get the kept answer', () => {
    const w = new DedupWindow(1000, 1 << 20);
    const got: Outcome[] = [];
    expect(w.admit('k', 'd', (o) => got.push(o), 0)).toEqual({ kind: 'new' });
    expect(w.admit('k', 'd', (o) => got.push(o), 1)).toEqual({ kind: 'attached' });
    w.finish('k', answer(3), true, 2);
    expect(got).toEqual([answer(3), answer(3)]);
    expect(w.admit('k', 'd', () => {}, 3)).toEqual({ kind: 'done', outcome: answer(3) });
    expect(w.admit('k', 'other', () => {}, 4)).toEqual({ kind: 'conflict' });
  });

  it('forgets an id that ended without running, so its retry runs', () => {
    const w = new DedupWindow(1000, 1 << 20);
    const got: Outcome[] = [];
    w.admit('k', 'd', (o) => got.push(o), 0);
    w.finish('k', refused, false, 1);
    expect(got).toEqual([refused]);
    expect(w.admit('k', 'd', () => {}, 2)).toEqual({ kind: 'new' });
  });

  it('stops delivering to a detached waiter; the execution still ends for the others', () => {
    const w = new DedupWindow(1000, 1 << 20);
    const a: Outcome[] = [];
    const b: Outcome[] = [];
    const da = (o: Outcome): void => void a.push(o);
    w.admit('k', 'd', da, 0);
    w.admit('k', 'd', (o) => b.push(o), 0);
    w.detach('k', da);
    w.finish('k', answer(1), true, 1);
    expect([a.length, b.length]).toEqual([0, 1]);
  });

  it('estimates what an outcome holds: numbers as doubles, tensor bytes, text as UTF-16', () => {
    expect(outcomeBytes(answer(0))).toBe(8 * 1 + 256);
    expect(
      outcomeBytes({
        type: 'answer',
        answer: { id: 1, topLabels: [1, 2], scores: [0.5, 0.25], outputs: [{ name: 'x', shape: [10], data: new Uint8Array(40) }] },
      }),
    ).toBe(8 * 4 + (40 + 8 + 128) + 256);
    expect(outcomeBytes(refused)).toBe(2 * 'full'.length + 256);
  });

  it('keeps answers for the window and within its byte budget, oldest out first', () => {
    // Room for exactly two answers: each is its outcome, its key ('a': 2 bytes as UTF-16) and its digest.
    const w = new DedupWindow(100, 2 * (outcomeBytes(answer(0)) + 2 + 1));
    for (const [k, t] of [
      ['a', 0],
      ['b', 10],
      ['c', 20],
    ] as const) {
      w.admit(k, 'd', () => {}, t);
      w.finish(k, answer(0), true, t);
    }
    expect(w.admit('a', 'd', () => {}, 21).kind).toBe('new'); // evicted: three kept, two allowed
    expect(w.admit('b', 'd', () => {}, 21).kind).toBe('done');
    expect(w.admit('c', 'd', () => {}, 115).kind).toBe('done'); // b expired at 110, c lasts to 120
    expect(w.admit('b', 'd', () => {}, 116).kind).toBe('new');
    expect(w.admit('c', 'd', () => {}, 121).kind).toBe('new');
  });
});
