/**
 * Named link profiles for the benchmark, the demo and the browser page, each with where its
 * numbers come from.
 * Uplink rates for 3g / lte / wifi are the averages Neurosurgeon measured on phones (Kang et al.,
 * ASPLOS 2017); the rest are stated assumptions, labelled as such in `source`. Custom links:
 * `name:upMbps:downMbps:rttMs[:jitterMs[:loss]]`.
 */
import type { DirectionProfile } from './shaper.js';
import type { LinkProfile } from './proxy.js';

/** The radios the energy model knows (head/devices.ts RADIOS). */
export type RadioName = 'lte' | '3g' | 'wifi' | '5g';

/** A named link, its radio for the energy model, and where its figures come from. */
export interface NamedLink {
  profile: LinkProfile;
  /** Which radio power model applies (docs/bench/DEVICES.md). */
  radio: RadioName;
  source: string;
}

/** A link's figures as the policy reads them: its radio, rates in Mbit/s and round trip in ms. */
export function linkFigures(l: NamedLink): { radio: RadioName; upMbps: number; downMbps: number; rttMs: number } {
  const { up, down } = l.profile;
  return { radio: l.radio, upMbps: up.bps / 1e6, downMbps: down.bps / 1e6, rttMs: up.delayMs + down.delayMs };
}

function link(
  name: string,
  upMbps: number,
  downMbps: number,
  rttMs: number,
  radio: NamedLink['radio'],
  source: string,
  extra: Partial<Pick<DirectionProfile, 'jitterMs' | 'loss'>> & { outages?: [number, number][] } = {},
): NamedLink {
  const dir = (mbps: number): DirectionProfile => ({
    bps: mbps * 1e6,
    delayMs: rttMs / 2,
    jitterMs: extra.jitterMs ?? 0,
    loss: extra.loss ?? 0,
    rtoMs: Math.max(200, rttMs * 2),
  });
  return { profile: { name, up: dir(upMbps), down: dir(downMbps), ...(extra.outages ? { outages: extra.outages } : {}) }, radio, source };
}

/** An outage that outlasts any run (and still fits a timer). */
const FOREVER_MS = 2 ** 31 - 1;

export const LINKS: Readonly<Record<string, NamedLink>> = Object.freeze({
  '3g': link(
    '3g',
    1.1,
    2.0,
    150,
    '3g',
    'uplink 1.1 Mbps: Neurosurgeon (Kang et al., ASPLOS 2017) measured 3G average; downlink 2 Mbps and RTT 150 ms: assumed (typical HSPA)',
  ),
  lte: link(
    'lte',
    5.85,
    12.74,
    70,
    'lte',
    'uplink 5.85 Mbps: Neurosurgeon measured LTE average; downlink 12.74 Mbps and RTT 70 ms: LTE medians reported by Huang et al. (MobiSys 2012)',
  ),
  wifi: link(
    'wifi',
    18.88,
    50,
    10,
    'wifi',
    'uplink 18.88 Mbps: Neurosurgeon measured Wi-Fi average; downlink 50 Mbps and RTT 10 ms: assumed (home 802.11n/ac)',
  ),
  '5g': link('5g', 50, 300, 20, '5g', 'assumed mid-band 5G (uplink 50 Mbps, downlink 300 Mbps, RTT 20 ms); radio: the 5G model of DEVICES.md'),
  'wifi-lan': link(
    'wifi-lan',
    18.88,
    50,
    2,
    'wifi',
    'assumed: Wi-Fi to an edge box on the same local network, one hop (rates as wifi, RTT 2 ms); radio: the Wi-Fi model',
  ),
  'lte-edge-of-cell': link(
    'lte-edge-of-cell',
    0.5,
    2,
    120,
    'lte',
    'assumed: LTE at the cell edge (uplink 0.5 Mbps, RTT 120 ms ± 20 ms jitter, 1% loss charged one RTO)',
    { jitterMs: 20, loss: 0.01 },
  ),
  offline: link('offline', 1, 1, 50, 'lte', 'the link is down for the whole run: every offload must fall back', { outages: [[0, FOREVER_MS]] }),
});

/** A named profile or a custom `name:upMbps:downMbps:rttMs[:jitterMs[:loss]]`. */
export function parseLink(spec: string): NamedLink {
  const named = LINKS[spec];
  if (named) return named;
  const parts = spec.split(':');
  if (parts.length < 4 || parts.length > 6)
    throw new RangeError(`unknown link '${spec}': use one of ${Object.keys(LINKS).join(', ')} or name:upMbps:downMbps:rttMs[:jitterMs[:loss]]`);
  const [name, ...nums] = parts as [string, ...string[]];
  const v = nums.map(Number);
  if (!v.every((x) => Number.isFinite(x) && x >= 0) || v[0]! <= 0 || v[1]! <= 0 || (v[4] ?? 0) >= 1)
    throw new RangeError(`bad link '${spec}': rates must be > 0, times ≥ 0, loss in [0, 1)`);
  return link(name, v[0]!, v[1]!, v[2]!, 'lte', 'custom (from flags); LTE radio coefficients', { jitterMs: v[3] ?? 0, loss: v[4] ?? 0 });
}
