/** `offramp split`, `offramp profile` and `offramp recommend`: bring your own ONNX model. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { parseDevice } from '../bench/devices.js';
import { parseLink } from '../bench/link/profiles.js';
import { OfframpError } from '../protocol/errors.js';
import { splitToBundle } from '../split/bundle.js';
import { profileMarkdown, profileModel, recommend, type ModelProfile } from '../split/profile.js';

type Out = (s: string) => void;

async function write(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

/** Runs `fn`, turning typed errors into one line on stderr and exit code 1 (2 for bad flags). */
async function guarded(err: Out, fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (e) {
    if (e instanceof OfframpError) err(`offramp: ${e.code}: ${e.message}`);
    else if (e instanceof RangeError) err(`offramp: ${e.message}`);
    else throw e;
    return e instanceof RangeError ? 2 : 1;
  }
}

const numberList = (s: string | undefined): number[] | undefined => (s === undefined ? undefined : s.split(',').map((x) => {
  const n = Number(x);
  if (!Number.isFinite(n)) throw new RangeError(`not a number: '${x}'`);
  return n;
}));

export function addSplitCommands(program: Command, out: Out = (s) => console.log(s), err: Out = (s) => console.error(s)): void {
  program
    .command('split')
    .description('cut an ONNX model at tensors into a bundle that offramp serve and the device SDK run (verified against the original)')
    .argument('<model>', 'ONNX file (one input, one output)')
    .requiredOption('--at <tensors>', 'comma-separated tensor names to cut at')
    .requiredOption('--out <dir>', 'bundle folder to write')
    .option('--widen', 'add the tensors the tail still needs to the cut instead of refusing')
    .option('--calibrate <n>', 'calibration samples for the quantization range', '64')
    .option('--data <idx>', 'IDX file (.gz ok) of uint8 samples to calibrate on (default: seeded random)')
    .option('--scale <s>', 'raw uint8 → input scale', String(1 / 255))
    .option('--mean <list>', 'per-channel mean subtracted after scaling', '0')
    .option('--std <list>', 'per-channel std divided by', '1')
    .option('--bits <list>', 'bit widths the bundle offers', '8,4')
    .option('--id <id>', 'bundle id (default: from the folder name)')
    .option('--json', 'print the report as JSON')
    .action(async (model: string, o: { at: string; out: string; widen?: boolean; calibrate: string; data?: string; scale: string; mean: string; std: string; bits: string; id?: string; json?: boolean }) => {
      process.exitCode = await guarded(err, async () => {
        const calibrate = Number(o.calibrate);
        if (!Number.isInteger(calibrate) || calibrate < 1) throw new RangeError(`--calibrate must be a positive integer, got '${o.calibrate}'`);
        const r = await splitToBundle({ model, at: o.at.split(',').map((s) => s.trim()), out: o.out, widen: o.widen, calibrate, data: o.data, scale: Number(o.scale), mean: numberList(o.mean), std: numberList(o.std), bits: numberList(o.bits), id: o.id });
        if (o.json) return out(JSON.stringify(r, null, 2));
        out(`wrote ${r.bundle}: cut at ${r.cut.join(', ')}${r.widened ? ' (widened)' : ''}; head ${r.headNodes} nodes, tail ${r.tailNodes}`);
        out(`bottleneck ${r.bottleneck.name} [${r.bottleneck.shape.join(', ')}]: ${r.bottleneck.rawBytes} B float32; payload ${Object.entries(r.payloadBytes).map(([b, n]) => `${n} B at ${b} bits`).join(', ')}`);
        out(`verified on ${r.samples} samples: head → tail equals the original within ${r.maxAbsDiff.toExponential(2)} (float); top-1 agreement ${Object.entries(r.agreementByBits).map(([b, a]) => `${(a * 100).toFixed(2)}% at ${b} bits`).join(', ')}`);
      });
    });
  program
    .command('profile')
    .description('time every single-tensor cut (articulation point) of an ONNX model on this host, with activation bytes raw and at 8/4 bits')
    .argument('<model>', 'ONNX file')
    .option('--runs <n>', 'timed runs per graph (median)', '20')
    .option('--data <idx>', 'IDX file of uint8 samples to feed (default: seeded random)')
    .option('--json <file>', 'write the profile as JSON')
    .option('--md <file>', 'write the profile as a Markdown table')
    .action(async (model: string, o: { runs: string; data?: string; json?: string; md?: string }) => {
      process.exitCode = await guarded(err, async () => {
        const p = await profileModel(model, { runs: Number(o.runs), data: o.data });
        if (o.json) await write(o.json, JSON.stringify(p, null, 2) + '\n');
        if (o.md) await write(o.md, profileMarkdown(p));
        out(profileMarkdown(p));
      });
    });
  program
    .command('recommend')
    .description('pick the cut (or all on the device, or all on the edge) for a link and a device, and explain it with the numbers')
    .requiredOption('--profile <file>', 'JSON written by offramp profile')
    .option('--link <names>', 'link profile(s), comma-separated', 'lte')
    .option('--device <names>', 'device profile(s), comma-separated', 'host')
    .option('--objective <o>', 'latency or energy', 'latency')
    .option('--top <n>', 'options to list', '5')
    .action(async (o: { profile: string; link: string; device: string; objective: string; top: string }) => {
      process.exitCode = await guarded(err, async () => {
        if (o.objective !== 'latency' && o.objective !== 'energy') throw new RangeError(`--objective must be latency or energy, got '${o.objective}'`);
        const p = JSON.parse(await readFile(o.profile, 'utf8')) as ModelProfile;
        for (const l of o.link.split(',')) {
          for (const d of o.device.split(',')) {
            const r = recommend(p, parseLink(l.trim()), parseDevice(d.trim()), o.objective);
            out(r.explanation);
            out('| option | device compute ms | bytes up | latency ms | energy mJ |');
            out('|---|---|---|---|---|');
            for (const x of r.options.slice(0, Number(o.top))) out(`| ${x.option} | ${x.computeMs.toFixed(2)} | ${x.bytesUp.toFixed(0)} | ${x.latencyMs.toFixed(2)} | ${(x.energyJ * 1000).toFixed(2)} |`);
            out('');
          }
        }
      });
    });
}
