/**
 * `offramp profile`, `offramp recommend` and `offramp split`: bring your own ONNX model
 * (docs/BYOM.md). The options that read a model and its inputs are defined once and shared.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DEVICE_CLASSES } from '../head/devices.js';
import { parseLink } from '../link/profiles.js';
import { sha256Hex } from '../protocol/bundle.js';
import { OfframpError } from '../protocol/errors.js';
import { importOptional } from '../protocol/optional.js';
import { formatAgreement, type Agreement } from '../split/agreement.js';
import { OUTPUT_ENCODINGS } from '../split/answers.js';
import type { SplitReport, WeightsOrigin } from '../split/bundle.js';
import type { ModelOptions, Progress } from '../split/model.js';
import type { ModelProfile } from '../split/profile.js';
import { parseRates, PROFILED_RATES } from '../split/rates.js';
import { recommend, recommendationTable, type Recommendation } from '../split/recommend.js';
import { addOptions, resolveOptions, type OptionSpec } from './options.js';

/**
 * The parts that open models, with onnxruntime-node (an optional peer dependency), imported when
 * a command needs them: the CLI starts without it (`offramp doctor` says what is missing), and a
 * command that needs it fails with DEPENDENCY_MISSING naming the package to install.
 */
async function modelParts() {
  return importOptional('onnxruntime-node', 'offramp profile, recommend and split', async () => {
    const [bundle, measure, model, prepare, profile] = await Promise.all([
      import('../split/bundle.js'),
      import('../split/measure.js'),
      import('../split/model.js'),
      import('../split/prepare.js'),
      import('../split/profile.js'),
    ]);
    return {
      splitToBundle: bundle.splitToBundle,
      measureCut: measure.measureCut,
      loadModel: model.loadModel,
      parseShape: prepare.parseShape,
      profileModel: profile.profileModel,
      profileMarkdown: profile.profileMarkdown,
    };
  });
}

type Out = (s: string) => void;

/** Options that say how to read the model and its inputs (profile, recommend, split). */
export const MODEL_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'shape',
    flag: '--shape <input=dims>',
    kind: { type: 'string' },
    help: "fix the input's dims, batch first, e.g. x=1,3,48,320 (needed when the model's are dynamic)",
  },
  {
    key: 'data',
    flag: '--data <path>',
    kind: { type: 'string' },
    help: 'real raw samples: an IDX file, a .npy (uint8 or float32, one sample or a batch), or a folder of .npy/.bin files; gzip ok (default: seeded noise, and reports say so)',
  },
  { key: 'rawDtype', flag: '--raw-dtype <t>', kind: { type: 'enum', values: ['uint8', 'float32'] }, default: 'uint8', help: 'what a device captures' },
  {
    key: 'layout',
    flag: '--layout <l>',
    kind: { type: 'enum', values: ['CHW', 'HWC', 'plain'] },
    help: "raw sample layout: HWC for interleaved camera frames (the SDK reorders them for NCHW models) (default: the model's)",
  },
  {
    key: 'modelLayout',
    flag: '--model-layout <l>',
    kind: { type: 'enum', values: ['NCHW', 'NHWC', 'NC', 'other'] },
    help: "the model input's layout (default: guessed from channels of 1, 3 or 4)",
  },
  {
    key: 'scale',
    flag: '--scale <s>',
    kind: { type: 'number', min: 0, exclusiveMin: true },
    help: 'model input = (raw · scale − mean) / std (default: 1/255 for uint8, 1 for float32)',
  },
  { key: 'mean', flag: '--mean <list>', kind: { type: 'list' }, help: 'per-channel mean, one value or one per channel (default 0)' },
  { key: 'std', flag: '--std <list>', kind: { type: 'list' }, help: 'per-channel std (default 1)' },
  {
    key: 'classes',
    flag: '--classes',
    kind: { type: 'bool' },
    help: 'the first output is [N, classes] scores (logits, or probabilities from a final Softmax): answers carry a label (default: outputs are tensors)',
  },
  { key: 'labels', flag: '--labels <file>', kind: { type: 'string' }, help: 'class names, one per line (implies --classes)' },
  { key: 'runs', flag: '--runs <n>', kind: { type: 'int', min: 1 }, default: 10, help: 'timed runs per measurement (median)' },
  { key: 'progress', flag: '--no-progress', kind: { type: 'bool' }, default: true, help: 'no progress bars' },
];

export const PROFILE_OPTIONS: readonly OptionSpec[] = [
  ...MODEL_OPTIONS,
  { key: 'samples', flag: '--samples <n>', kind: { type: 'int', min: 1 }, default: 8, help: 'samples to measure activations and answers on' },
  { key: 'json', flag: '--json <file>', kind: { type: 'string' }, help: 'write the profile as JSON (offramp recommend --profile reads it)' },
  { key: 'md', flag: '--md <file>', kind: { type: 'string' }, help: 'write the profile as Markdown' },
];

export const RECOMMEND_OPTIONS: readonly OptionSpec[] = [
  { key: 'profile', flag: '--profile <file>', kind: { type: 'string' }, help: 'JSON written by offramp profile (or give the model instead)' },
  ...PROFILE_OPTIONS.filter((s) => s.key !== 'json' && s.key !== 'md'),
  {
    key: 'link',
    flag: '--link <names>',
    kind: { type: 'list' },
    default: ['lte'],
    help: 'link profile(s): 3g, lte, wifi, 5g, wifi-lan, lte-edge-of-cell, or name:upMbps:downMbps:rttMs',
  },
  { key: 'device', flag: '--device <ids>', kind: { type: 'list' }, default: ['host'], help: `device class(es): ${Object.keys(DEVICE_CLASSES).join(', ')}` },
  { key: 'objective', flag: '--objective <o>', kind: { type: 'enum', values: ['latency', 'energy'] }, default: 'latency', help: 'what to minimise' },
  {
    key: 'outputEncoding',
    flag: '--output-encoding <e>',
    kind: { type: 'enum', values: ['auto', ...OUTPUT_ENCODINGS] },
    default: 'auto',
    help: 'tensor answers: auto picks the smallest whose own error keeps --min-agreement',
  },
  {
    key: 'minAgreement',
    flag: '--min-agreement <x>',
    kind: { type: 'number', min: 0 },
    default: 0.99,
    help: 'top-1 agreement (class logits) or worst cosine (tensors) an option must keep',
  },
  { key: 'rates', flag: '--rates <ids>', kind: { type: 'list' }, default: [...PROFILED_RATES], help: 'rate points to consider: u1…u8, f16, f32' },
  {
    key: 'periodMs',
    flag: '--period-ms <ms>',
    kind: { type: 'int', min: 0 },
    default: 0,
    help: 'one inference every this many ms (radio tails and promotions)',
  },
  {
    key: 'verifySamples',
    flag: '--verify-samples <n>',
    kind: { type: 'int', min: 2 },
    default: 16,
    help: 'samples to check a cut on (half calibrate, half measure)',
  },
  { key: 'verify', flag: '--no-verify', kind: { type: 'bool' }, default: true, help: 'do not check the best cuts on real inputs' },
  { key: 'top', flag: '--top <n>', kind: { type: 'int', min: 1 }, default: 8, help: 'options to list' },
  { key: 'json', flag: '--json <file>', kind: { type: 'string' }, help: 'write the recommendations as JSON' },
];

export const SPLIT_OPTIONS: readonly OptionSpec[] = [
  { key: 'at', flag: '--at <tensors>', kind: { type: 'list' }, help: 'comma-separated tensor names to cut at (offramp recommend prints them) (required)' },
  { key: 'out', flag: '--out <dir>', kind: { type: 'string' }, help: 'bundle folder to write (required)' },
  {
    key: 'weights',
    flag: '--weights <origin>',
    kind: { type: 'enum', values: ['pretrained', 'trained', 'random'] },
    help: 'where the weights came from, for provenance: pretrained (published), trained (by you) or random (timing only) (required: a file cannot tell)',
  },
  { key: 'source', flag: '--source <text>', kind: { type: 'string' }, help: 'where the model came from (URL, package), for provenance' },
  ...MODEL_OPTIONS,
  { key: 'widen', flag: '--widen', kind: { type: 'bool' }, help: 'add the tensors the tail still needs (skip connections) to the cut instead of refusing' },
  {
    key: 'rates',
    flag: '--rates <ids>',
    kind: { type: 'list' },
    default: ['u8', 'u4', 'f16'],
    help: 'rate points the bundle offers: u1…u8 (bits per value, per-channel range calibrated on --data), f16, f32',
  },
  {
    key: 'samples',
    flag: '--samples <n>',
    kind: { type: 'int', min: 2 },
    default: 16,
    help: 'samples read: the first half calibrate the ranges, the rest measure agreement',
  },
  { key: 'calibrate', flag: '--calibrate <n>', kind: { type: 'int', min: 1 }, help: 'samples that calibrate (default: half of --samples)' },
  {
    key: 'minAgreement',
    flag: '--min-agreement <x>',
    kind: { type: 'number', min: 0 },
    default: 0.99,
    help: 'the default rate point is the smallest reaching this agreement',
  },
  { key: 'id', flag: '--id <id>', kind: { type: 'string' }, help: 'bundle id (default: from the folder name)' },
  { key: 'version', flag: '--bundle-version <v>', kind: { type: 'string' }, default: '1.0.0', help: 'bundle version, semver' },
  { key: 'force', flag: '--force', kind: { type: 'bool' }, help: 'replace an existing bundle folder' },
  { key: 'json', flag: '--json', kind: { type: 'bool' }, help: 'print the report as JSON' },
];

/** Numbers from a list option, or a RangeError naming the flag. */
function numbers(flag: string, list: unknown): number[] | undefined {
  if (list === undefined) return undefined;
  return (list as string[]).map((x) => {
    const n = Number(x);
    if (!Number.isFinite(n) || x.trim() === '') throw new RangeError(`${flag} must be numbers separated by commas, got '${x}'`);
    return n;
  });
}

/** The model-reading options from resolved flags (labels read from their file). */
async function modelOptions(o: Record<string, unknown>): Promise<ModelOptions & { labels?: string[] }> {
  const labels =
    o.labels === undefined
      ? undefined
      : (
          await readFile(o.labels as string, 'utf8').catch((e: NodeJS.ErrnoException) => {
            throw new OfframpError('INVALID_ARGUMENT', `--labels ${String(o.labels)}: ${e.code ?? e.message}`);
          })
        )
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter(Boolean);
  const mean = numbers('--mean', o.mean);
  const std = numbers('--std', o.std);
  return {
    ...(o.shape !== undefined ? { shape: (await modelParts()).parseShape(o.shape as string).dims } : {}),
    ...(o.data !== undefined ? { data: o.data as string } : {}),
    rawDtype: o.rawDtype as 'uint8' | 'float32',
    ...(o.layout !== undefined ? { layout: o.layout as 'CHW' | 'HWC' | 'plain' } : {}),
    ...(o.modelLayout !== undefined ? { modelLayout: o.modelLayout as ModelOptions['modelLayout'] } : {}),
    ...(o.scale !== undefined ? { scale: o.scale as number } : {}),
    ...(mean ? { mean } : {}),
    ...(std ? { std } : {}),
    ...(o.classes || labels ? { classes: true } : {}),
    ...(labels ? { labels } : {}),
  };
}

/** A progress reporter: a bar on a terminal, a line per stage otherwise, nothing with --no-progress. */
function progressBar(command: string, enabled: boolean, err: Out): { onProgress?: Progress; stop: () => void } {
  if (!enabled) return { stop: () => {} };
  let stage = '';
  if (!process.stderr.isTTY) {
    return {
      onProgress: (s, _done, total) => {
        if (s !== stage) err(`${command}: ${s} (${total})`);
        stage = s;
      },
      stop: () => {},
    };
  }
  const bar = new SingleBar(
    { format: `${command} {bar} {value}/{total} {stage}`, hideCursor: true, clearOnComplete: true, stream: process.stderr },
    Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (s, done, total) => {
      if (!started) bar.start(total, done, { stage: s });
      started = true;
      if (s !== stage) bar.setTotal(total);
      stage = s;
      bar.update(done, { stage: s });
    },
    stop: () => {
      if (started) bar.stop();
      started = false; // a later stage starts a new bar
    },
  };
}

/** Runs a command body: typed errors become one line and exit 1, bad flags exit 2. */
async function guarded(name: string, err: Out, fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (e) {
    if (e instanceof OfframpError) {
      err(`offramp ${name}: ${e.code}: ${e.message}`);
      return e.code === 'INVALID_ARGUMENT' ? 2 : 1;
    }
    if (e instanceof RangeError) {
      err(`offramp ${name}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

async function write(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** `offramp profile <model>`. */
export async function profileCommand(model: string, flags: Record<string, unknown>, out: Out, err: Out): Promise<number> {
  return guarded('profile', err, async () => {
    const o = resolveOptions(PROFILE_OPTIONS, flags);
    const { profileModel, profileMarkdown } = await modelParts();
    const bar = progressBar('profile', o.progress as boolean, err);
    let p: ModelProfile;
    try {
      p = await profileModel(model, {
        ...(await modelOptions(o)),
        samples: o.samples as number,
        runs: o.runs as number,
        ...(bar.onProgress ? { onProgress: bar.onProgress } : {}),
      });
    } finally {
      bar.stop();
    }
    if (o.json) await write(o.json as string, JSON.stringify(p, null, 1) + '\n');
    if (o.md) await write(o.md as string, profileMarkdown(p));
    out(profileMarkdown(p));
    out(
      `profiled ${p.cuts.length} cuts in ${p.seconds.toFixed(1)} s${o.json ? `; wrote ${o.json as string} (next: offramp recommend --profile ${o.json as string} --link lte --device phone-mid)` : ''}`,
    );
  });
}

/** `offramp recommend [model]`. */
export async function recommendCommand(model: string | undefined, flags: Record<string, unknown>, out: Out, err: Out): Promise<number> {
  return guarded('recommend', err, async () => {
    const o = resolveOptions(RECOMMEND_OPTIONS, flags);
    const links = (o.link as string[]).map((l) => parseLink(l));
    for (const d of o.device as string[])
      if (!DEVICE_CLASSES[d]) throw new RangeError(`--device: unknown device class '${d}': use one of ${Object.keys(DEVICE_CLASSES).join(', ')}`);
    parseRates(o.rates as string[]);
    if (!model && !o.profile) throw new RangeError('give the model (offramp recommend model.onnx ...) or a profile (--profile profile.json)');
    const bar = progressBar('recommend', o.progress as boolean, err);
    try {
      const parts = o.profile ? undefined : await modelParts();
      const p = o.profile
        ? await readProfile(o.profile as string)
        : await parts!.profileModel(model!, {
            ...(await modelOptions(o)),
            samples: o.samples as number,
            runs: o.runs as number,
            ...(bar.onProgress ? { onProgress: bar.onProgress } : {}),
          });
      const verify = o.verify ? await verifier(p, o.verifySamples as number, bar.onProgress) : undefined;
      const results = [];
      for (const link of links) {
        for (const device of o.device as string[]) {
          const r = await recommend(p, {
            link,
            device,
            objective: o.objective as 'latency' | 'energy',
            outputEncoding: o.outputEncoding as 'auto',
            minAgreement: o.minAgreement as number,
            rates: o.rates as string[],
            periodMs: o.periodMs as number,
            ...(verify ? { verify } : {}),
          });
          bar.stop();
          results.push(r);
          printRecommendation(p, r, o.top as number, out);
        }
      }
      if (o.json) await write(o.json as string, JSON.stringify(results, null, 1) + '\n');
    } finally {
      bar.stop();
    }
  });
}

/** A profile written by `offramp profile --json`; INVALID_ARGUMENT when it cannot be read or is not one. */
async function readProfile(file: string): Promise<ModelProfile> {
  let p: ModelProfile;
  try {
    p = JSON.parse(await readFile(file, 'utf8')) as ModelProfile;
  } catch (e) {
    throw new OfframpError(
      'INVALID_ARGUMENT',
      `--profile ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (write one with offramp profile <model> --json <file>)`,
    );
  }
  if (!Array.isArray(p.cuts) || !p.answers)
    throw new OfframpError('INVALID_ARGUMENT', `--profile ${file} is not a profile from this version of offramp profile: profile the model again`);
  return p;
}

/** One link × device's recommendation: its explanation, the top rows, and the split command to run. */
function printRecommendation(p: ModelProfile, r: Recommendation, top: number, out: Out): void {
  out(`## ${r.link} × ${r.device}`);
  out('');
  for (const line of r.explanation) out(line);
  out('');
  out(recommendationTable(r, top));
  out('');
  if (r.bestSplit) out(`Next: ${splitCommandLine(p, r.bestSplit.cut!, r.outputEncoding)}\n`);
}

/** Checks cuts of the profiled model on real inputs (the model file must be the one profiled). */
async function verifier(
  p: ModelProfile,
  samples: number,
  onProgress: Progress | undefined,
): Promise<(cut: string, rates: string[]) => Promise<Record<string, Agreement>>> {
  const { loadModel, measureCut } = await modelParts();
  const loaded = await loadModel(p.model.path, p.options, samples).catch((e: unknown) => {
    throw e instanceof OfframpError && e.code === 'MODEL_INVALID' && /cannot read/.test(e.message)
      ? new OfframpError('INVALID_ARGUMENT', `${e.message}: the profiled model moved; give it (offramp recommend <model> ...) or pass --no-verify`)
      : e;
  });
  if (sha256Hex(loaded.bytes) !== p.model.sha256)
    throw new OfframpError('INVALID_ARGUMENT', `${p.model.path} changed since it was profiled (sha256 differs): profile it again, or pass --no-verify`);
  const seen = new Map<string, Promise<Record<string, Agreement>>>();
  return (cut, rates) => {
    const key = `${cut}\0${rates.join(',')}`;
    if (!seen.has(key)) {
      seen.set(
        key,
        measureCut(loaded, [cut], { rates: parseRates(rates), runs: 0, ...(onProgress ? { onProgress } : {}) }).then((m) =>
          Object.fromEntries(m.rates.map((r) => [r.choice.id, r.agreement])),
        ),
      );
    }
    return seen.get(key)!;
  };
}

/** The `offramp split` command line that writes the recommended cut. */
function splitCommandLine(p: ModelProfile, cut: string, encoding: string): string {
  const o = p.options;
  const q = (s: string): string => (/^[\w./=,:@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  // Paths as the user would type them here: relative to the working folder when inside it.
  const here = (path: string): string => (relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path));
  const parts = ['offramp split', q(here(p.model.path)), '--at', q(cut)];
  if (o.shape) parts.push('--shape', q(`${p.inputName}=${o.shape.map((d) => (d < 0 ? 'N' : d)).join(',')}`));
  if (o.data) parts.push('--data', q(here(o.data)));
  if (o.rawDtype && o.rawDtype !== 'uint8') parts.push('--raw-dtype', o.rawDtype);
  if (o.layout) parts.push('--layout', o.layout);
  if (o.modelLayout) parts.push('--model-layout', o.modelLayout);
  if (o.scale !== undefined) parts.push('--scale', String(o.scale));
  if (o.mean) parts.push('--mean', o.mean.join(','));
  if (o.std) parts.push('--std', o.std.join(','));
  if (o.classes) parts.push('--classes');
  parts.push('--weights <pretrained|trained|random> --out <bundle dir>');
  return `${parts.join(' ')}   (devices then ask for ${encoding} answers: createDevice({ ..., outputEncoding: '${encoding}' }))`;
}

/** The split report as text. */
export function formatSplit(r: SplitReport): string {
  const kb = (n: number): string => (n >= 1e4 ? `${(n / 1e3).toFixed(1)} kB` : `${Math.round(n)} B`);
  const lines = [
    `wrote ${r.bundle} (${r.id}, task ${r.task}, weights ${r.weights}; manifest ${kb(r.manifestBytes)}): cut at ${r.cut.map((t) => `'${t}'`).join(', ')}${r.widened ? ' (widened)' : ''}; head ${r.headNodes} nodes, tail ${r.tailNodes}`,
    ...(r.fixes.length ? [`fixed: ${r.fixes.join('; ')}`] : []),
    `bottleneck '${r.bottleneck.name}' [${r.bottleneck.shape.join(', ')}]: ${kb(r.bottleneck.floatBytes)} as float32; head → tail equals the original within ${r.floatMaxAbsDiff.toExponential(2)} in float, and at batch 2`,
    `MACs: head ${(r.macs.head / 1e6).toFixed(2)} M (${((100 * r.macs.head) / Math.max(1, r.macs.full)).toFixed(1)}%), tail ${(r.macs.tail / 1e6).toFixed(2)} M; this host: head ${r.hostMs.head.toFixed(2)} ms, tail ${r.hostMs.tail.toFixed(2)} ms`,
    `agreement with the original on ${r.agreementInputs}:`,
    '',
    '| rate point | payload mean | p99 | max | agreement | |',
    '|---|---|---|---|---|---|',
    ...r.rates.map(
      (x) =>
        `| ${x.id} | ${kb(x.bytes.mean)} | ${kb(x.bytes.p99)} | ${kb(x.bytes.max)} | ${formatAgreement(x.agreement)} | ${x.id === r.defaultRate ? 'default' : ''} |`,
    ),
    '',
    r.belowMinAgreement
      ? `no rate point reached --min-agreement; the default is the closest (${r.defaultRate}): try a later cut, more bits, or f16`
      : `default rate point ${r.defaultRate}: the smallest that reaches --min-agreement`,
  ];
  return lines.join('\n');
}

/** `offramp split <model>`. */
export async function splitCommand(model: string, flags: Record<string, unknown>, out: Out, err: Out): Promise<number> {
  return guarded('split', err, async () => {
    const o = resolveOptions(SPLIT_OPTIONS, flags);
    if (!o.at) throw new RangeError('--at <tensors> is required (offramp profile lists the cuts; offramp recommend picks one)');
    if (!o.out) throw new RangeError('--out <dir> is required');
    if (!o.weights)
      throw new RangeError(
        '--weights is required: pretrained (published weights), trained (you trained them) or random (untrained: a timing-only bundle). A file cannot tell, and the manifest says it',
      );
    const bar = progressBar('split', o.progress as boolean, err);
    let r: SplitReport;
    try {
      r = await (
        await modelParts()
      ).splitToBundle({
        ...(await modelOptions(o)),
        model,
        at: o.at as string[],
        out: o.out as string,
        weights: o.weights as WeightsOrigin,
        ...(o.source !== undefined ? { source: o.source as string } : {}),
        widen: o.widen as boolean,
        rates: o.rates as string[],
        samples: o.samples as number,
        ...(o.calibrate !== undefined ? { calibrate: o.calibrate as number } : {}),
        minAgreement: o.minAgreement as number,
        ...(o.id !== undefined ? { id: o.id as string } : {}),
        version: o.version as string,
        force: o.force as boolean,
        runs: o.runs as number,
        ...(bar.onProgress ? { onProgress: bar.onProgress } : {}),
      });
    } finally {
      bar.stop();
    }
    out(o.json ? JSON.stringify(r, null, 2) : formatSplit(r));
  });
}

/** Adds `split`, `profile` and `recommend` to `program`. */
export function addSplitCommands(program: Command, out: Out = (s) => console.log(s), err: Out = (s) => console.error(s)): void {
  const split = program
    .command('split')
    .description('cut an ONNX model into a bundle that offramp serve and the device SDK run: verified against the original, agreement measured per rate point')
    .argument('<model>', 'ONNX file');
  addOptions(split, SPLIT_OPTIONS).action(async (model: string, flags: Record<string, unknown>) => {
    process.exitCode = await splitCommand(model, flags, out, err);
  });
  const profile = program
    .command('profile')
    .description(
      'price every single-tensor cut of an ONNX model on real inputs: compute (host ms, MACs), bytes up per rate point, bytes down per answer encoding',
    )
    .argument('<model>', 'ONNX file');
  addOptions(profile, PROFILE_OPTIONS).action(async (model: string, flags: Record<string, unknown>) => {
    process.exitCode = await profileCommand(model, flags, out, err);
  });
  const rec = program
    .command('recommend')
    .description(
      'pick the cut and rate point (or all on the device, or all on the edge) for a link and a device, checked on real inputs, and explain it with the numbers',
    )
    .argument('[model]', 'ONNX file (or --profile)');
  addOptions(rec, RECOMMEND_OPTIONS).action(async (model: string | undefined, flags: Record<string, unknown>) => {
    process.exitCode = await recommendCommand(model, flags, out, err);
  });
}
