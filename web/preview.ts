/**
 * What the policy will do, worked out from the manifest before anything runs (pure): the exit
 * threshold an accuracy budget buys and the share of images it lets out early, and which way an
 * image no exit takes goes on a given device class and link. The page explains the budget with
 * the first and picks its default device and link with the second (one where the split path is
 * the policy's clear choice), so the defaults follow the bundle.
 */
import { computeMs, DEVICE_CLASSES, deviceProfile, type LinkName } from '../head/devices.js';
import { bundlePolicyModel, decide, fullOffloadFirst, localCost, sendCost, type CostInputs, type LinkEstimate, type SendCost } from '../head/policy.js';
import type { Manifest } from '../protocol/manifest.js';

/** A link as the page knows it (from `/v1/demo`). */
export interface LinkFigures {
  radio: LinkName;
  upMbps: number;
  downMbps: number;
  rttMs: number;
}

/** Per exit: the confidence threshold the budget sets, and what validation says it does. */
export function exitPreview(m: Manifest, maxAccuracyLoss: number): { threshold: number; exitRate: number; overallAccuracy: number; reference: number }[] {
  const model = bundlePolicyModel(m, { maxAccuracyLoss });
  return m.exits.map((e, i) => {
    const threshold = model.thresholds[i]!;
    const row = e.thresholds.find((r) => r.threshold === threshold)!;
    return { threshold, exitRate: row.exitRate, overallAccuracy: row.overallAccuracy, reference: model.reference };
  });
}

/** WebSocket framing of a client message (head/transport.ts wsClientOverhead), without importing the transport. */
const wsOverhead = (n: number): number => (n < 126 ? 2 : n < 65536 ? 4 : 10) + 4;
/** Protobuf framing around a request's payload, and a class answer on the wire, bytes (head/device.ts's estimates). */
const REQUEST_FRAMING = 8;
const ANSWER_BYTES = 14;
/** The edge's time per request before any is measured, ms. */
const SERVER_MS = 1;

function payloadEstimate(m: Manifest, i: number): number {
  const rp = m.bottleneck.ratePoints[i]!;
  const n = m.bottleneck.shape.reduce((a, b) => a * b, 1);
  if (rp.bytes) return rp.bytes.mean;
  return rp.codec === 'uniform' ? Math.ceil((n * rp.bits) / 8) : rp.codec === 'float16' ? 2 * n : 4 * n;
}

const send = (payload: number): SendCost => ({
  bytesUp: payload + REQUEST_FRAMING + wsOverhead(payload + REQUEST_FRAMING),
  bytesDown: ANSWER_BYTES,
  serverMs: SERVER_MS,
});

export type Way = 'split' | 'local' | 'full';

/**
 * Which way the adaptive policy (latency objective) sends an image no exit takes, on a modelled
 * device class and link, and its margin: how many times dearer the next best way is (1 = a tie).
 * Undefined for a device whose time is measured (host) or a bundle without MAC counts.
 */
export function expectedWay(
  m: Manifest,
  device: string,
  link: LinkFigures,
  maxAccuracyLoss: number,
): { way: Way; margin: number; ms: { split: number; local: number; full: number; head: number } } | undefined {
  const d = DEVICE_CLASSES[device];
  if (!d?.macsPerSecond || !m.macs) return undefined;
  const profile = deviceProfile(device, link.radio);
  const raw = m.input.raw.shape.reduce((a, b) => a * b, 1) * (m.input.raw.dtype === 'float32' ? 4 : 1);
  const costs: CostInputs = {
    headMs: computeMs(d, m.macs.head + (m.macs.exits ?? 0), 0),
    localMs: computeMs(d, m.macs.full, 0),
    split: new Map(m.bottleneck.ratePoints.map((_, i) => [i, send(payloadEstimate(m, i))])),
    full: send(raw),
    sinceTransferMs: 0,
  };
  // An unshaped link (loopback) still takes about a millisecond there and back.
  const est: LinkEstimate = {
    available: true,
    rttMs: Math.max(1, link.rttMs),
    uplinkBps: (link.upMbps || 1000) * 1e6,
    downlinkBps: (link.downMbps || 1000) * 1e6,
  };
  const model = bundlePolicyModel(m, { maxAccuracyLoss });
  const opts = { objective: 'latency' as const, maxAccuracyLoss };
  const splitMs = Math.min(...[...costs.split.values()].map((c) => sendCost(c, est, profile, 0, 0).latencyMs));
  const localMs = localCost(costs, profile, 0).latencyMs;
  const headPathMs = costs.headMs + (1 - model.exitRate) * Math.min(splitMs, localMs);
  const fullMs = sendCost(costs.full, est, profile, 0, 0).latencyMs;
  const times = { split: splitMs, local: localMs, full: fullMs, head: costs.headMs };
  if (fullOffloadFirst(model, costs, est, profile, opts)) return { way: 'full', margin: headPathMs / fullMs, ms: times };
  const after = decide(model, [], costs, est, profile, opts);
  const firstMargin = fullMs / headPathMs;
  return after.kind === 'local'
    ? { way: 'local', margin: Math.min(splitMs / localMs, firstMargin), ms: times }
    : { way: 'split', margin: Math.min(localMs / splitMs, firstMargin), ms: times };
}

/** A choice this clear survives measured round trips that differ from the profile's. */
const CLEAR_MARGIN = 1.3;
/** Which way a default should show first: the split path, else offloading at all, else local answers. */
const RANK: Record<Way, number> = { split: 0, full: 1, local: 2 };

/**
 * The device class and link the page starts with, among modelled classes and shaped links:
 * one where the policy clearly (by CLEAR_MARGIN) sends images the exit does not take
 * to the edge as features (split), so a first run shows exits and offloads side by side; else one
 * where it clearly sends the raw image (full offload; the device still runs its head once in 50
 * images to re-time it); else the clearest local choice. Within a way, the widest margin wins;
 * ties keep the earlier pair (weak devices and common links first).
 */
export function suggestDefaults(m: Manifest, links: Record<string, LinkFigures>, maxAccuracyLoss: number): { device: string; link: string; way?: Way } {
  const devices = ['mcu', 'phone-low', 'rpi4', 'phone-mid', 'laptop'].filter((d) => d in DEVICE_CLASSES);
  // Shaped links only: a default on loopback would show nothing of a network.
  const names = ['wifi', 'lte', '5g', '3g', 'lte-edge-of-cell'].filter((l) => l in links);
  let best: { device: string; link: string; way: Way; margin: number } | undefined;
  const key = (w: { way: Way; margin: number }): number => (w.margin >= CLEAR_MARGIN ? RANK[w.way] : 3);
  for (const device of devices) {
    for (const link of names) {
      const w = expectedWay(m, device, links[link]!, maxAccuracyLoss);
      if (w && (!best || key(w) < key(best) || (key(w) === key(best) && w.margin > best.margin))) best = { device, link, ...w };
    }
  }
  return best ? { device: best.device, link: best.link, way: best.way } : { device: 'host', link: names[0] ?? 'loopback' };
}
