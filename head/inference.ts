/**
 * One `infer()`: check the sample, route it (head/router.ts) and follow the route: an exit, the
 * local model, or a send (head/sender.ts) whose failure the local model answers (path
 * 'fallback', with the reason). Each path feeds what it measured to the cost tracker and the link
 * estimate, and hands it to the result builder (head/results.ts).
 */
import type { Manifest } from '../protocol/manifest.js';
import type { CostTracker } from './costs.js';
import { checkInferOptions } from './device-options.js';
import type { InferOptions, InferResult } from './device-types.js';
import type { DeviceProfile } from './devices.js';
import { exitDecision } from './exit.js';
import { checkSample, type Sample } from './input.js';
import type { LinkEstimator } from './link.js';
import { decide, fullOffloadFirst, type PolicyModel, type PolicyOptions } from './policy.js';
import { serverTimings, type Before, type LocalRun, type ResultBuilder } from './results.js';
import { routeDecision, routeFirst, type Route } from './router.js';
import type { Sender, Sent } from './sender.js';
import type { DeviceSessions, Outputs } from './sessions.js';

/** Everything an inference works with, built once by createDevice. */
export interface InferenceParts {
  manifest: Manifest;
  profile: DeviceProfile;
  policy: PolicyOptions;
  model: PolicyModel;
  sessions: Pick<DeviceSessions, 'runHead' | 'runFull'>;
  costs: CostTracker;
  link: LinkEstimator;
  /** Absent without an edge: the device never offloads. */
  sender?: Sender;
  results: ResultBuilder;
}

/** One call's state along its route: the sample, what the head produced (when it ran), when the call began. */
interface Call extends Before {
  x: Float32Array;
  raw: () => Uint8Array | Float32Array;
  opts: InferOptions;
  head?: { out: Outputs; exits: ReturnType<typeof exitDecision>[] };
}

export class Inference {
  constructor(private readonly p: InferenceParts) {}

  async infer(sample: Sample, opts: InferOptions = {}): Promise<InferResult> {
    const { manifest: m, costs, policy, profile, sender } = this.p;
    const t0 = performance.now();
    const { x, raw } = checkSample(sample, m);
    checkInferOptions(opts);
    costs.sinceLocal++;
    const inputs = costs.inputs(performance.now());
    // The adaptive policy may skip the head, when sending the raw input is expected to win. A
    // path it keeps avoiding is never re-timed, so a high estimate would stick: every
    // STALE_AFTER requests without running the head, take it once.
    const estimate = this.p.link.estimate();
    const weighRaw = sender?.ready === true && !costs.stale('head');
    const rawFirst = weighRaw && fullOffloadFirst(this.p.model, inputs, estimate, profile, policy);
    if (weighRaw) costs.weigh('full');
    const first = routeFirst(policy.force, sender !== undefined, rawFirst);
    if (first.kind !== 'head') {
      if (rawFirst) costs.sinceHead++;
      return this.follow(first, { x, raw, opts, t0, headMs: 0, headMeasured: 0 });
    }
    const th = performance.now();
    const out = await this.p.sessions.runHead(x);
    const headMeasured = performance.now() - th;
    costs.observeHead(headMeasured);
    const headMs = costs.headOn(headMeasured);
    const exits = m.exits.map((e) => exitDecision(out[e.output]!.data, Infinity));
    // With an edge configured, decide as if it were reachable: when it is not, an offload
    // decision becomes a local answer with the reason (path 'fallback').
    const d = decide(this.p.model, exits, costs.inputs(performance.now()), sender ? { ...estimate, available: true } : estimate, profile, policy);
    if (sender && d.kind !== 'exit') costs.weigh('split');
    const route = routeDecision(d, policy.force, costs.stale('local'), sender !== undefined);
    return this.follow(route, { x, raw, opts, t0, headMs, headMeasured, head: { out, exits } });
  }

  private follow(r: Route, c: Call): Promise<InferResult> {
    switch (r.kind) {
      case 'exit':
        return Promise.resolve(this.p.results.exit(c.head!.exits[r.exit]!.probs, r.exit, c.opts, c));
      case 'local':
        return this.local('local', c);
      case 'no-edge':
        return this.local('fallback', c, { fallback: { reason: 'disconnected', ratePoint: this.ratePointId(r.ratePoint) } });
      case 'send-input':
        return this.sent(c, 'full', 'input', this.p.sender!.input(c.raw, c.opts));
      case 'send-features': {
        const latent = c.head!.out[this.p.manifest.bottleneck.headOutput]!.data;
        return this.sent(c, String(r.ratePoint), this.ratePointId(r.ratePoint), this.p.sender!.features(latent, r.ratePoint, c.opts));
      }
    }
  }

  private ratePointId(i: number | 'input'): string {
    return i === 'input' ? i : this.p.manifest.bottleneck.ratePoints[i]!.id;
  }

  /** The local full model answers (path 'local', or 'fallback' with the reason). */
  private async local(path: 'local' | 'fallback', c: Call, more: Pick<LocalRun, 'fallback' | 'transfer'> = {}): Promise<InferResult> {
    const t = performance.now();
    const out = await this.p.sessions.runFull(c.x);
    const localMeasured = performance.now() - t;
    this.p.costs.observeLocal(localMeasured);
    return this.p.results.local(path, c.opts, c, { out, localMs: this.p.costs.localOn(localMeasured), localMeasured, ...more });
  }

  /**
   * A send's result: the edge's answer, whose round trip (and server time, when sent) feeds the
   * estimates; or, when none came, the local model's with the reason and the bytes that went.
   * `key`: the way of sending as the cost tracker names it ('full' or the rate point index).
   */
  private async sent(c: Call, key: string, ratePoint: string, sending: Promise<Sent>): Promise<InferResult> {
    const s = await sending;
    const o = s.outcome;
    const { costs, link } = this.p;
    if (!o.ok) {
      // Nothing left the device (held by the edge's retry-after, or its own window full): no transfer.
      const went = o.bytesUp > 0;
      if (went) costs.observeTransfer(performance.now());
      return this.local(
        'fallback',
        { ...c, encodeMs: s.encodeMs },
        {
          fallback: { reason: o.reason, ratePoint, payloadBytes: s.payloadBytes, bytesUp: o.bytesUp },
          ...(went && { transfer: { up: o.bytesUp, down: o.bytesDown ?? 0, busyMs: performance.now() - s.startedAt - s.encodeMs, promoted: s.promoted } }),
        },
      );
    }
    const { serverMs } = serverTimings(o.answer);
    costs.observeSend(key, o.ms, serverMs, performance.now(), { up: o.bytesUp, down: o.bytesDown });
    if (serverMs !== undefined) link.observeRequest(o.bytesUp, o.bytesDown, o.ms - serverMs);
    return this.p.results.edge(o, ratePoint, s.payloadBytes, c.opts, { ...c, encodeMs: s.encodeMs, promoted: s.promoted });
  }
}
