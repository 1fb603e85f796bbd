/**
 * `offramp serve --web`: the browser demo (web/, built by `npm run build`) served by the edge,
 * with onnxruntime-web's wasm files and the committed test images from the same server (nothing
 * from a CDN), and one shaping link proxy per link profile so the page can pick its link.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fashionMnistDir } from '../head/datasets/fashion-mnist.js';
import { LINKS } from '../link/profiles.js';
import { createLinkProxy, type LinkProxy } from '../link/proxy.js';
import { manifestFromBytes } from '../protocol/bundle.js';
import type { Manifest } from '../protocol/manifest.js';
import type { EdgeServerOptions } from '../tail/options.js';
import { repoRoot } from './paths.js';

/** The `web` option for the edge server; throws when the demo has not been built. */
export function webOptions(): NonNullable<EdgeServerOptions['web']> {
  const root = join(repoRoot(), 'web', 'dist');
  if (!existsSync(join(root, 'index.html'))) throw new Error(`${root} is missing: run npm run build first`);
  return {
    root,
    mounts: { '/ort/': join(repoRoot(), 'node_modules', 'onnxruntime-web', 'dist'), '/data/fashion-mnist/': fashionMnistDir() },
    demo: {},
  };
}

/** The bundle the page runs: fmnist-b32 when served, else the first one shaped like a Fashion-MNIST image. */
async function demoBundle(models: string): Promise<Manifest> {
  const found: Manifest[] = [];
  for (const d of (await readdir(models)).sort()) {
    const file = join(models, d, 'manifest.json');
    if (existsSync(file)) found.push(manifestFromBytes(await readFile(file), file));
  }
  const fits = found.filter((m) => !m.timingOnly && m.input.shape.join('x') === '1x28x28');
  const pick = fits.find((m) => m.id === 'fmnist-b32') ?? fits[0];
  if (!pick) throw new Error(`no Fashion-MNIST-shaped bundle under ${models} for the web demo`);
  return pick;
}

/** Starts the link proxies in front of the edge at `port` and fills `web.demo`; returns a closer. */
export async function startWebDemo(web: NonNullable<EdgeServerOptions['web']>, models: string, port: number, lan = false): Promise<() => Promise<void>> {
  const m = await demoBundle(models);
  const proxies: LinkProxy[] = [];
  const links: Record<string, number> = { loopback: port };
  for (const [name, l] of Object.entries(LINKS)) {
    // The proxies listen where the page can reach them: loopback, or every interface with --lan.
    const p = await createLinkProxy({ host: '127.0.0.1', port }, l.profile, lan ? '0.0.0.0' : '127.0.0.1');
    proxies.push(p);
    links[name] = p.port;
  }
  const data = '/data/fashion-mnist/';
  web.demo = {
    bundle: { id: m.id, version: m.version, ratePoints: m.bottleneck.ratePoints.map((rp) => rp.id), labels: m.labels },
    links,
    data: { images: `${data}t10k-images-idx3-ubyte.gz`, labels: `${data}t10k-labels-idx1-ubyte.gz` },
  };
  return async () => {
    await Promise.all(proxies.map((p) => p.close()));
  };
}
