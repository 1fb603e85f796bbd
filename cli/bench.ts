/**
 * `offramp bench`: strategies × links × devices on the same samples (bench/harness), written as
 * JSON, a Markdown report and SVG plots.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { parseDevice } from '../bench/devices.js';
import { runBench } from '../bench/harness/run.js';
import { benchEnvironment, targetChecks, writeReport } from '../bench/harness/report.js';
import { parseLink } from '../bench/link/profiles.js';
import { repoRoot } from './paths.js';

export interface BenchCommandOptions {
  bundle?: string;
  links: string;
  device: string;
  samples: string;
  timingSamples?: string;
  parallel: string;
  warmup: string;
  deadlineMs: string;
  lteTailJ: string;
  json?: string;
  report?: string;
  progress?: boolean;
}

/** Every committed Fashion-MNIST bundle, plus the ResNet-50 timing bundle when it has been generated. */
export async function defaultBenchBundles(): Promise<string[]> {
  const root = repoRoot();
  const models = join(root, 'models');
  const out = existsSync(models) ? (await readdir(models)).filter((d) => d.startsWith('fmnist-') && existsSync(join(models, d, 'manifest.json'))).sort().map((d) => join(models, d)) : [];
  if (out.length === 0) out.push(join(root, 'test', 'fixtures', 'tiny'));
  const resnet = join(root, 'models-timing', 'resnet50-b12');
  if (existsSync(join(resnet, 'manifest.json'))) out.push(resnet);
  return out;
}

const positive = (name: string, v: string, integer = true): number => {
  const n = Number(v);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new RangeError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${v}'`);
  return n;
};

export async function benchCommand(opts: BenchCommandOptions, out: (s: string) => void, err: (s: string) => void, argv: string[]): Promise<number> {
  let links, devices, samples, parallel, warmup, deadlineMs, lteTailJ, timingSamples;
  try {
    links = opts.links.split(',').map((s) => parseLink(s.trim()));
    devices = opts.device.split(',').map((s) => parseDevice(s.trim()));
    samples = positive('samples', opts.samples);
    if (opts.parallel !== 'auto' && !(Number.isInteger(Number(opts.parallel)) && Number(opts.parallel) > 0)) throw new RangeError(`--parallel must be a positive integer or 'auto', got '${opts.parallel}'`);
    parallel = opts.parallel === 'auto' ? ('auto' as const) : Number(opts.parallel);
    warmup = Number(opts.warmup);
    if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`--warmup must be an integer ≥ 0, got '${opts.warmup}'`);
    deadlineMs = positive('deadline-ms', opts.deadlineMs);
    lteTailJ = Number(opts.lteTailJ);
    if (!(lteTailJ >= 0)) throw new RangeError(`--lte-tail-j must be ≥ 0, got '${opts.lteTailJ}'`);
    timingSamples = opts.timingSamples === undefined ? undefined : positive('timing-samples', opts.timingSamples);
  } catch (e) {
    err(`offramp bench: ${(e as Error).message}`);
    return 2;
  }
  const bundles = opts.bundle ? opts.bundle.split(',').map((s) => s.trim()) : await defaultBenchBundles();
  for (const b of bundles) {
    if (!existsSync(join(b, 'manifest.json'))) {
      err(`offramp bench: ${b} holds no manifest.json`);
      return 2;
    }
  }
  out(`bench: ${bundles.length} bundle(s) × links ${links.map((l) => l.profile.name).join(', ')} × devices ${devices.map((d) => d.name).join(', ')}; ${samples} samples each, ${parallel} devices side by side`);
  const bar = opts.progress === false ? undefined : new SingleBar({ format: 'bench {bar} {value}/{total} {label}', hideCursor: true }, Presets.shades_classic);
  bar?.start(1, 0, { label: '' });
  let lastLabel = '';
  const started = Date.now();
  const result = await runBench({
    bundles, links, devices, samples, parallel, warmup, deadlineMs, lteTailJ, timingSamples,
    onProgress: (done, total, label) => {
      bar?.setTotal(total);
      bar?.update(done, { label });
      // Without a bar (logs, CI): one line as each run starts.
      if (!bar && label !== lastLabel) err(`bench ${done}/${total} ${((Date.now() - started) / 1000).toFixed(0)} s: ${label}`);
      lastLabel = label;
    },
  });
  bar?.stop();
  const env = benchEnvironment();
  const command = ['offramp', 'bench', ...argv].join(' ');
  if (opts.json) {
    await mkdir(dirname(opts.json), { recursive: true });
    await writeFile(opts.json, JSON.stringify({ command, environment: env, ...result }, null, 2) + '\n');
    out(`wrote ${opts.json}`);
  }
  if (opts.report) {
    const files = await writeReport(result, env, opts.report, command);
    out(`wrote ${files.join(', ')}`);
  }
  out('');
  for (const c of targetChecks(result)) out(`${c.pass ? 'PASS' : 'MISS'}  ${c.name}: ${c.value}`);
  return 0;
}
