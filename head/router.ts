/**
 * The router (pure): which path one inference takes. Before the head: a forced baseline (the
 * local model alone, or the raw input to the edge) or the adaptive policy's full offload first;
 * after the head: the policy's Decision (head/policy.ts) as an exit, a local answer or a send,
 * with the local model re-timed once it went stale, and a send with no edge configured turned
 * into a fallback ('disconnected').
 */
import type { Decision, ForcedPolicy } from './policy.js';

export type Route =
  /** Answer from exit `exit` (the head's output). */
  | { kind: 'exit'; exit: number }
  /** Answer with the local full model. */
  | { kind: 'local' }
  /** Send the raw input to the edge's full model. */
  | { kind: 'send-input' }
  /** Send the head's latent at rate point index `ratePoint`. */
  | { kind: 'send-features'; ratePoint: number }
  /** A send with no edge configured: the local model answers (path 'fallback', reason 'disconnected'). */
  | { kind: 'no-edge'; ratePoint: number | 'input' };

/**
 * The route before the head runs ('head': run it, then route its Decision). `rawFirst`: the adaptive policy expects sending the raw input
 * to win (head/policy.ts fullOffloadFirst, asked only while connected and the head is not stale).
 */
export function routeFirst(force: ForcedPolicy | undefined, hasEdge: boolean, rawFirst: boolean): Route | { kind: 'head' } {
  if (force === 'always-local') return { kind: 'local' };
  if (force === 'full-offload' && !hasEdge) return { kind: 'no-edge', ratePoint: 'input' };
  if ((force === 'full-offload' || rawFirst) && hasEdge) return { kind: 'send-input' };
  return { kind: 'head' };
}

/**
 * The route for the policy's Decision after the head. `localStale`: the local model went
 * unmeasured for STALE_AFTER requests (head/costs.ts); the adaptive policy then takes it once.
 */
export function routeDecision(d: Decision, force: ForcedPolicy | undefined, localStale: boolean, hasEdge: boolean): Route {
  if (d.kind === 'exit') return { kind: 'exit', exit: d.exit };
  if (d.kind === 'local' || (force === undefined && localStale)) return { kind: 'local' };
  if (!hasEdge) return { kind: 'no-edge', ratePoint: d.ratePoint };
  return { kind: 'send-features', ratePoint: d.ratePoint };
}
