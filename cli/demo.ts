/**
 * `offramp demo` (`npm start`): an edge server in this process, link emulators in front of it,
 * and modelled devices of a few classes on a few links, each running the committed Fashion-MNIST
 * test images through the adaptive policy over real sockets. A table shows where each image was
 * answered (early exit on the device, split to the edge, full offload, local model), with
 * accuracy, latency and energy: confident images leave at the exit everywhere, the
 * microcontroller splits the rest over 3G, LTE and WiFi and sends the raw image to an edge on
 * its own network (wifi-lan, where the round trip costs less than its head), phones and laptops
 * finish locally.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { createDevice } from '../head/device.js';
import { deviceClass, type DeviceClass } from '../head/devices.js';
import { imageAt, loadFashionMnistTest } from '../head/datasets/fashion-mnist.js';
import type { Objective } from '../head/policy.js';
import { parseLink, type NamedLink } from '../link/profiles.js';
import { createLinkProxy } from '../link/proxy.js';
import { startLocalEdge } from '../scenario/edge.js';
import { runLanes } from '../scenario/lanes.js';
import type { Command } from 'commander';
import { addOptions, resolveOptions, type OptionSpec } from './options.js';
import { repoRoot } from './paths.js';

/** The default bundle: models/fmnist-b32 when present, else the tiny test bundle. */
export function defaultBundle(): string {
  const b32 = join(repoRoot(), 'models', 'fmnist-b32');
  return existsSync(join(b32, 'manifest.json')) ? b32 : join(repoRoot(), 'test', 'fixtures', 'tiny');
}

export const DEMO_OPTIONS: readonly OptionSpec[] = [
  { key: 'bundle', flag: '--bundle <dir>', kind: { type: 'string' }, help: 'bundle folder (default: models/fmnist-b32)' },
  {
    key: 'devices',
    flag: '--devices <ids>',
    kind: { type: 'list' },
    default: ['mcu', 'phone-low', 'laptop'],
    help: 'device classes (docs/bench/DEVICES.md): mcu, phone-low, phone-mid, rpi4, laptop, host',
  },
  {
    key: 'links',
    flag: '--links <names>',
    kind: { type: 'list' },
    default: ['3g', 'lte', 'wifi', 'wifi-lan'],
    help: 'link profiles: 3g, lte, wifi, 5g, wifi-lan, lte-edge-of-cell, or name:upMbps:downMbps:rttMs',
  },
  {
    key: 'objective',
    flag: '--objective <o>',
    kind: { type: 'enum', values: ['latency', 'energy', 'accuracy'] },
    default: 'latency',
    help: 'what the adaptive policy minimises',
  },
  { key: 'limit', flag: '--limit <n>', kind: { type: 'int', min: 1 }, default: 500, help: 'test images per device and link' },
  { key: 'progress', flag: '--no-progress', kind: { type: 'bool' }, default: true, help: 'no progress bar' },
];

export function addDemoCommand(program: Command): void {
  const cmd = program
    .command('demo')
    .description('edge + link emulators + modelled devices in this process: where the adaptive policy answers each test image, per device class and link');
  addOptions(cmd, DEMO_OPTIONS).action(async (flags: Record<string, unknown>) => {
    process.exitCode = await demoCommand(
      flags,
      (s) => console.log(s),
      (s) => console.error(s),
    );
  });
}

interface Row {
  device: string;
  link: string;
  accuracy: number;
  paths: Record<string, number>;
  latency: number;
  energyMj: number;
  bytesUp: number;
}

/** Names a result's path in the demo's terms. */
function pathName(path: string, ratePoint: string | undefined): string {
  if (path.startsWith('exit:')) return 'exit';
  if (path === 'edge') return ratePoint === 'input' ? 'full offload' : 'split';
  return path;
}

export async function demoCommand(flags: Record<string, unknown>, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let o: Record<string, unknown>;
  let devices: DeviceClass[];
  let links: NamedLink[];
  try {
    o = resolveOptions(DEMO_OPTIONS, flags);
    devices = (o.devices as string[]).map((d) => deviceClass(d));
    links = (o.links as string[]).map((l) => parseLink(l));
  } catch (e) {
    err(`offramp demo: ${(e as Error).message}`);
    return 2;
  }
  const bundleDir = (o.bundle as string | undefined) ?? defaultBundle();
  const data = await loadFashionMnistTest();
  const n = Math.min(o.limit as number, data.count);
  const inputs = Array.from({ length: n }, (_, i) => imageAt(data, i));
  const local = await startLocalEdge([bundleDir]);
  out(
    `offramp demo: ${basename(bundleDir)} served by an edge in this process; ${n} test images per device and link, adaptive policy (objective ${String(o.objective)});`,
  );
  out(`devices and links are modelled (docs/bench/DEVICES.md), the sockets and the edge are real. Choose others with --devices and --links.`);
  const bar = o.progress === false ? undefined : new SingleBar({ format: 'demo {bar} {value}/{total} {label}', hideCursor: true }, Presets.shades_classic);
  bar?.start(n * devices.length * links.length, 0, { label: '' });
  const rows: Row[] = [];
  try {
    for (const link of links) {
      const proxy = await createLinkProxy({ host: '127.0.0.1', port: local.port }, link.profile);
      try {
        for (const device of devices) {
          const cell: Cell = { bundleDir, edgePort: proxy.port, objective: o.objective as Objective, inputs, labels: data.labels };
          rows.push(await runCell(cell, device, link, () => bar?.increment({ label: `${device.id} on ${link.profile.name}` })));
        }
      } finally {
        await proxy.close();
      }
    }
  } finally {
    bar?.stop();
    await local.close();
  }
  printTable(rows, n, out);
  return 0;
}

/** What every device and link of the demo share: the bundle, the edge (behind the link's proxy), the objective, the images and their labels. */
interface Cell {
  bundleDir: string;
  edgePort: number;
  objective: Objective;
  inputs: Uint8Array[];
  labels: ArrayLike<number>;
}

/** One device class on one link: every image through the adaptive policy, summed up as a table row. */
async function runCell(c: Cell, device: DeviceClass, link: NamedLink, onResult: () => void): Promise<Row> {
  const n = c.inputs.length;
  const radio = device.links.includes(link.radio) ? link.radio : device.links[0]!;
  const run = await runLanes({
    make: () =>
      createDevice({
        bundle: c.bundleDir,
        edge: `ws://127.0.0.1:${c.edgePort}`,
        policy: { objective: c.objective },
        profile: { device: device.id, link: radio },
      }),
    inputs: c.inputs,
    warmup: 10,
    pilot: 20,
    parallel: 'auto',
    connectMs: 5000,
    onResult,
  });
  const paths: Record<string, number> = {};
  let correct = 0;
  run.results.forEach((r, i) => {
    const p = pathName(r.path, r.ratePoint);
    paths[p] = (paths[p] ?? 0) + 1;
    if (r.label === c.labels[i]) correct++;
  });
  const mean = (f: (r: (typeof run.results)[number]) => number): number => run.results.reduce((a, r) => a + f(r), 0) / n;
  return {
    device: device.id,
    link: link.profile.name,
    accuracy: correct / n,
    paths,
    latency: mean((r) => r.timings.total),
    energyMj: mean((r) => r.energy.totalJ) * 1000,
    bytesUp: mean((r) => r.bytesUp),
  };
}

/** The demo's table (each path's share of the `n` images per row) and what its columns mean. */
function printTable(rows: Row[], n: number, out: (s: string) => void): void {
  const share = (r: Row, k: string): string => `${(((r.paths[k] ?? 0) / n) * 100).toFixed(0)}%`;
  out('');
  out('| device | link | exit | split | full offload | local | fallback | accuracy | latency ms | energy mJ | bytes up |');
  out('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    out(
      `| ${r.device} | ${r.link} | ${share(r, 'exit')} | ${share(r, 'split')} | ${share(r, 'full offload')} | ${share(r, 'local')} | ${share(r, 'fallback')} | ${(r.accuracy * 100).toFixed(2)}% | ${r.latency.toFixed(1)} | ${r.energyMj.toFixed(2)} | ${r.bytesUp.toFixed(1)} |`,
    );
  }
  out('');
  out(
    "exit: a confident early exit on the device; split: the bottleneck to the edge's tail; full offload: the raw image to the edge's full model; local: the whole model on the device.",
  );
  out(
    "Latency and energy are per image on the modelled device (compute: MACs ÷ the class's throughput; radio: Huang et al.), round trips measured through the link emulator.",
  );
}
