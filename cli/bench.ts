/**
 * `offramp bench`: strategies × links × device classes on the same samples (bench/harness),
 * written as JSON, a Markdown report and SVG plots.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { runBench, type BenchResult } from '../bench/harness/run.js';
import { benchEnvironment, targetChecks, writeReport } from '../bench/harness/report.js';
import { DEVICE_CLASSES, deviceClass } from '../head/devices.js';
import { parseLink } from '../link/profiles.js';
import { addOptions, resolveOptions, type OptionSpec } from './options.js';
import { repoRoot } from './paths.js';

export const BENCH_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'bundle',
    flag: '--bundle <dirs>',
    kind: { type: 'list' },
    help: 'comma-separated bundle folders (default: every committed models/fmnist-*, plus models-timing/resnet50-b12 when generated)',
  },
  {
    key: 'links',
    flag: '--links <names>',
    kind: { type: 'list' },
    default: ['3g', 'lte', 'wifi', '5g'],
    help: 'link profiles (3g, lte, wifi, 5g, wifi-lan, lte-edge-of-cell, offline) or name:upMbps:downMbps:rttMs[:jitterMs[:loss]]',
  },
  {
    key: 'device',
    flag: '--device <ids>',
    kind: { type: 'list' },
    default: ['host', 'rpi4'],
    help: `device classes (${Object.keys(DEVICE_CLASSES).join(', ')}) or 'all'`,
  },
  { key: 'samples', flag: '--samples <n>', kind: { type: 'int', min: 1 }, default: 200, help: 'test images per configuration' },
  {
    key: 'timingSamples',
    flag: '--timing-samples <n>',
    kind: { type: 'int', min: 1 },
    help: 'inputs per configuration for timing-only bundles (default: min(samples, 30))',
  },
  {
    key: 'parallel',
    flag: '--parallel <n>',
    kind: { type: 'int-or', word: 'auto', min: 1 },
    default: 4,
    help: "devices side by side, each on its own emulated link, or 'auto': chunk by chunk, as many as keep half a core busy",
  },
  { key: 'warmup', flag: '--warmup <n>', kind: { type: 'int', min: 0 }, default: 10, help: 'untimed requests per device first' },
  { key: 'deadlineMs', flag: '--deadline-ms <ms>', kind: { type: 'int', min: 1 }, default: 10000, help: 'deadline of every infer()' },
  {
    key: 'periodMs',
    flag: '--period-ms <ms>',
    kind: { type: 'int', min: 0 },
    default: 0,
    help: 'one inference every this many ms on each device (0: back to back): how long radio tails last',
  },
  { key: 'json', flag: '--json <file>', kind: { type: 'string' }, help: 'write every configuration as JSON' },
  { key: 'report', flag: '--report <dir>', kind: { type: 'string' }, help: 'write report.md and SVG plots here' },
  { key: 'progress', flag: '--no-progress', kind: { type: 'bool' }, default: true, help: 'no progress bar (a log line per run instead)' },
];

export function addBenchCommand(program: Command): void {
  const cmd = program
    .command('bench')
    .description('strategies (local, offload, split, split-exit, adaptive, oracle) over emulated links and device classes: JSON, Markdown report, SVG plots');
  addOptions(cmd, BENCH_OPTIONS).action(async (flags: Record<string, unknown>) => {
    process.exitCode = await benchCommand(
      flags,
      (s) => console.log(s),
      (s) => console.error(s),
      process.argv.slice(3),
    );
  });
}

/** Every committed Fashion-MNIST bundle, plus the ResNet-50 timing bundle when it has been generated. */
export async function defaultBenchBundles(): Promise<string[]> {
  const root = repoRoot();
  const models = join(root, 'models');
  const out = existsSync(models)
    ? (await readdir(models))
        .filter((d) => d.startsWith('fmnist-') && existsSync(join(models, d, 'manifest.json')))
        .sort()
        .map((d) => join(models, d))
    : [];
  if (out.length === 0) out.push(join(root, 'test', 'fixtures', 'tiny'));
  const resnet = join(root, 'models-timing', 'resnet50-b12');
  if (existsSync(join(resnet, 'manifest.json'))) out.push(resnet);
  return out;
}

export async function benchCommand(flags: Record<string, unknown>, out: (s: string) => void, err: (s: string) => void, argv: string[]): Promise<number> {
  let o: Record<string, unknown>;
  let links, devices;
  try {
    o = resolveOptions(BENCH_OPTIONS, flags);
    links = (o.links as string[]).map((s) => parseLink(s));
    const ids = o.device as string[];
    devices = (ids.includes('all') ? Object.keys(DEVICE_CLASSES) : ids).map((s) => deviceClass(s));
  } catch (e) {
    err(`offramp bench: ${(e as Error).message}`);
    return 2;
  }
  const bundles = (o.bundle as string[] | undefined) ?? (await defaultBenchBundles());
  for (const b of bundles) {
    if (!existsSync(join(b, 'manifest.json'))) {
      err(`offramp bench: ${b} holds no manifest.json`);
      return 2;
    }
  }
  out(
    `bench: ${bundles.length} bundle(s) × links ${links.map((l) => l.profile.name).join(', ')} × devices ${devices.map((d) => d.id).join(', ')}; ${String(o.samples)} samples each, ${String(o.parallel)} devices side by side`,
  );
  const progress = benchProgress(o.progress !== false, err);
  const result = await runBench({
    bundles,
    links,
    devices,
    samples: o.samples as number,
    parallel: o.parallel as number | 'auto',
    warmup: o.warmup as number,
    deadlineMs: o.deadlineMs as number,
    periodMs: o.periodMs as number,
    ...(o.timingSamples !== undefined ? { timingSamples: o.timingSamples as number } : {}),
    onProgress: progress.onProgress,
  });
  progress.stop();
  await writeOutputs(result, o, ['offramp', 'bench', ...argv].join(' '), out);
  out('');
  for (const c of targetChecks(result)) out(`${c.pass ? 'PASS' : 'MISS'}  ${c.name}: ${c.value}`);
  return 0;
}

/** A progress bar, or without one (logs, CI) a line on `err` as each run starts. */
function benchProgress(bar: boolean, err: (s: string) => void): { onProgress: (done: number, total: number, label: string) => void; stop: () => void } {
  const b = bar ? new SingleBar({ format: 'bench {bar} {value}/{total} {label}', hideCursor: true }, Presets.shades_classic) : undefined;
  b?.start(1, 0, { label: '' });
  let lastLabel = '';
  const started = Date.now();
  return {
    onProgress: (done, total, label) => {
      b?.setTotal(total);
      b?.update(done, { label });
      // Without a bar (logs, CI): one line as each run starts.
      if (!b && label !== lastLabel) err(`bench ${done}/${total} ${((Date.now() - started) / 1000).toFixed(0)} s: ${label}`);
      lastLabel = label;
    },
    stop: () => b?.stop(),
  };
}

/** The JSON (--json) and the report (--report) that were asked for, each with the command and the environment. */
async function writeOutputs(result: BenchResult, o: Record<string, unknown>, command: string, out: (s: string) => void): Promise<void> {
  const env = benchEnvironment();
  if (o.json) {
    const json = o.json as string;
    await mkdir(dirname(json), { recursive: true });
    await writeFile(json, JSON.stringify({ command, environment: env, ...result }, null, 2) + '\n');
    out(`wrote ${json}`);
  }
  if (o.report) {
    const files = await writeReport(result, env, o.report as string, command);
    out(`wrote ${files.join(', ')}`);
  }
}
