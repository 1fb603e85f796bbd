/** head/router.ts: every route before and after the head, for each forced policy and the adaptive one. */
import { describe, expect, it } from 'vitest';
import type { Decision, ForcedPolicy } from '../../head/policy.js';
import { routeDecision, routeFirst } from '../../head/router.js';

const expected = { latencyMs: 1, energyJ: 1, accuracy: 1 };
const EXIT: Decision = { kind: 'exit', exit: 1, label: 3, confidence: 0.9 };
const LOCAL: Decision = { kind: 'local', expected };
const OFFLOAD: Decision = { kind: 'offload', ratePoint: 2, expected };

describe('routeFirst', () => {
  it('always-local: the local model, edge or not, raw-first or not', () => {
    for (const hasEdge of [true, false]) for (const rawFirst of [true, false]) expect(routeFirst('always-local', hasEdge, rawFirst)).toEqual({ kind: 'local' });
  });

  it("full-offload: the raw input to the edge; without an edge, a fallback naming 'input'", () => {
    expect(routeFirst('full-offload', true, false)).toEqual({ kind: 'send-input' });
    expect(routeFirst('full-offload', false, false)).toEqual({ kind: 'no-edge', ratePoint: 'input' });
  });

  it('adaptive: the raw input first when the policy expects it to win, else the head', () => {
    expect(routeFirst(undefined, true, true)).toEqual({ kind: 'send-input' });
    expect(routeFirst(undefined, true, false)).toEqual({ kind: 'head' });
    expect(routeFirst(undefined, false, true)).toEqual({ kind: 'head' });
  });

  it('the other forced policies run the head', () => {
    for (const force of ['always-offload', 'exit-then-offload'] as ForcedPolicy[]) expect(routeFirst(force, true, false)).toEqual({ kind: 'head' });
  });
});

describe('routeDecision', () => {
  it('an exit answers, stale local model or not', () => {
    expect(routeDecision(EXIT, undefined, true, true)).toEqual({ kind: 'exit', exit: 1 });
  });

  it('local answers locally; offload sends the latent at its rate point', () => {
    expect(routeDecision(LOCAL, undefined, false, true)).toEqual({ kind: 'local' });
    expect(routeDecision(OFFLOAD, undefined, false, true)).toEqual({ kind: 'send-features', ratePoint: 2 });
  });

  it('the adaptive policy re-times a stale local model instead of sending; a forced one never does', () => {
    expect(routeDecision(OFFLOAD, undefined, true, true)).toEqual({ kind: 'local' });
    expect(routeDecision(OFFLOAD, 'always-offload', true, true)).toEqual({ kind: 'send-features', ratePoint: 2 });
  });

  it('an offload with no edge configured is a fallback naming the rate point', () => {
    expect(routeDecision(OFFLOAD, 'always-offload', false, false)).toEqual({ kind: 'no-edge', ratePoint: 2 });
  });
});
