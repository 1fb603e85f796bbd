/**
 * `offramp serve --web`: the browser demo (web/, built by `npm run build`) served by the edge,
 * everything from the same server (nothing from a CDN: onnxruntime-web's wasm and the demo's test
 * images are build assets), and one shaping link proxy per link profile so the page can pick its
 * link. The proxies listen on loopback, or on every interface with `--lan`.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LINKS, linkFigures, type RadioName } from '../link/profiles.js';
import { createLinkProxy, type LinkProxy } from '../link/proxy.js';
import { manifestFromBytes } from '../protocol/bundle.js';
import type { Manifest } from '../protocol/manifest.js';
import type { EdgeServerOptions } from '../tail/options.js';
import { repoRoot } from './paths.js';

/** A link the page can pick: where to connect and what it models. */
export interface DemoLink {
  /** Port on the page's host: the edge itself (loopback) or a shaping proxy in front of it. */
  port: number;
  radio: RadioName;
  upMbps: number;
  downMbps: number;
  rttMs: number;
  source: string;
}

/** What `/v1/demo` answers: the bundle the page runs and its links (web/messages.ts reads the same shape). */
export interface DemoInfo {
  bundle: { id: string; version: string; ratePoints: string[]; labels: string[] };
  links: Record<string, DemoLink>;
}

/** The `web` option for the edge server; throws when the demo has not been built. */
export function webOptions(): NonNullable<EdgeServerOptions['web']> {
  const root = join(repoRoot(), 'web', 'dist');
  if (!existsSync(join(root, 'index.html'))) throw new Error(`${root} is missing: run npm run build first`);
  return { root, demo: {} };
}

/** The bundle the page runs: fmnist-b32 when served, else the first one shaped like a Fashion-MNIST image. */
async function demoBundle(models: string): Promise<Manifest> {
  const found: Manifest[] = [];
  for (const d of (await readdir(models)).sort()) {
    const file = join(models, d, 'manifest.json');
    if (!existsSync(file)) continue;
    try {
      found.push(manifestFromBytes(await readFile(file), file));
    } catch {
      // Not a bundle this version reads (the edge says so at start); the page needs only one.
    }
  }
  const fits = found.filter((m) => !m.timingOnly && m.task === 'classification' && m.input.shape.join('x') === '1x28x28');
  const pick = fits.find((m) => m.id === 'fmnist-b32') ?? fits[0];
  if (!pick) throw new Error(`no Fashion-MNIST-shaped classification bundle under ${models} for the web demo`);
  return pick;
}

/**
 * Starts the link proxies in front of the edge at `port` and fills `web.demo`; returns a closer.
 * The proxies listen on 127.0.0.1, or on every interface with `lan` (a phone on the network).
 */
export async function startWebDemo(web: NonNullable<EdgeServerOptions['web']>, models: string, port: number, lan = false): Promise<() => Promise<void>> {
  const m = await demoBundle(models);
  const proxies: LinkProxy[] = [];
  const links: Record<string, DemoLink> = {
    loopback: { port, radio: 'wifi', upMbps: 0, downMbps: 0, rttMs: 0, source: 'no shaping: straight to the edge (energy charged as Wi-Fi)' },
  };
  try {
    for (const [name, l] of Object.entries(LINKS)) {
      const p = await createLinkProxy({ host: '127.0.0.1', port }, l.profile, lan ? '0.0.0.0' : '127.0.0.1');
      proxies.push(p);
      links[name] = { port: p.port, ...linkFigures(l), source: l.source };
    }
  } catch (err) {
    await Promise.all(proxies.map((p) => p.close()));
    throw err;
  }
  const demo: DemoInfo = {
    bundle: { id: m.id, version: m.version, ratePoints: m.bottleneck.ratePoints.map((rp) => rp.id), labels: m.labels },
    links,
  };
  web.demo = demo as unknown as Record<string, unknown>;
  return async () => {
    await Promise.all(proxies.map((p) => p.close()));
  };
}
