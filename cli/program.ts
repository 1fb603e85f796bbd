/** The `offramp` command line: one subcommand per job. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { benchCommand, type BenchCommandOptions } from './bench.js';
import { demoCommand } from './demo.js';
import { evalCommand, type EvalCommandOptions } from './eval.js';
import { inspectCommand } from './inspect.js';
import { addServeCommand } from './serve.js';
import { addSplitCommands } from './split.js';
import { trainCommand } from './train.js';

/** The package's version, found by walking up from this file (source or dist/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'offramp') return pkg.version ?? '0.0.0';
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}

/** Builds the program; subcommands set `process.exitCode`. */
export function buildProgram(): Command {
  const program = new Command('offramp')
    .description('Split computing with early exits: device head, compressed bottleneck, edge tail.')
    .version(packageVersion());
  program
    .command('inspect')
    .description('verify a bundle (schema, sha256 of every file, ONNX ports) and print a summary')
    .argument('<bundle>', 'bundle folder (holds manifest.json)')
    .option('--json', 'print the verified manifest as JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      process.exitCode = await inspectCommand(dir, opts, (s) => console.log(s), (s) => console.error(s));
    });
  program
    .command('eval')
    .description('run the Fashion-MNIST test set through head → exit → codec → tail and report accuracy, exits and bytes')
    .requiredOption('--bundle <dir>', 'bundle folder')
    .option('--bits <b>', 'bit width (default: the largest that fits the bundle\'s byte budget)')
    .option('--threshold <t>', 'exit threshold (default: the manifest\'s recommended one)')
    .option('--limit <n>', 'only the first n test images')
    .option('--json <file>', 'also write the result as JSON')
    .action(async (opts: EvalCommandOptions) => {
      process.exitCode = await evalCommand(opts, (s) => console.log(s), (s) => console.error(s));
    });
  addServeCommand(program);
  addSplitCommands(program);
  program
    .command('demo')
    .description('edge in-process + device: the committed test set through adaptive, always-local and always-offload')
    .option('--bundle <dir>', 'bundle (default: models/fmnist-b32, or the tiny test bundle until it lands)')
    .option('--limit <n>', 'only the first n test images')
    .option('--concurrency <n>', 'infer() calls in flight', '8')
    .option('--no-progress', 'no progress bar')
    .action(async (opts: { bundle?: string; limit?: string; concurrency?: string; progress?: boolean }) => {
      process.exitCode = await demoCommand(opts, (s) => console.log(s));
    });
  program
    .command('bench')
    .description('strategies (local, offload, split, split-exit, adaptive, oracle) over emulated links and device models: JSON, Markdown report, SVG plots')
    .option('--bundle <dirs>', 'comma-separated bundle folders (default: every committed models/fmnist-*, plus models-timing/resnet50-b12 when generated)')
    .option('--links <names>', 'link profiles (3g, lte, wifi, 5g, lte-edge-of-cell, offline) or name:upMbps:downMbps:rttMs[:jitterMs[:loss]]', '3g,lte,wifi,5g')
    .option('--device <names>', 'device profiles (host, rpi4, jetson-nano-5w) or name:slowdown:watts', 'host,rpi4')
    .option('--samples <n>', 'test images per configuration', '200')
    .option('--timing-samples <n>', 'inputs per configuration for timing-only bundles (default: min(samples, 30))')
    .option('--parallel <n>', "devices side by side, each on its own emulated link, or 'auto': chunk by chunk, as many as keep half a core busy", '4')
    .option('--warmup <n>', 'untimed requests per device first', '10')
    .option('--deadline-ms <ms>', 'deadline of every infer()', '10000')
    .option('--lte-tail-j <joules>', 'radio tail energy added per offloaded inference', '0')
    .option('--json <file>', 'write every configuration as JSON')
    .option('--report <dir>', 'write report.md and SVG plots here')
    .option('--no-progress', 'no progress bar')
    .action(async (opts: BenchCommandOptions) => {
      process.exitCode = await benchCommand(opts, (s) => console.log(s), (s) => console.error(s), process.argv.slice(3));
    });
  program
    .command('train')
    .description('train teacher (if needed) and student, and export the bundle (Python + PyTorch)')
    .requiredOption('--config <yaml>', 'experiment config, e.g. bottleneck/train/configs/fmnist-b32.yaml')
    .option('--smoke', 'one epoch per stage on 2,000 images, into bottleneck/train/runs/smoke/')
    .option('--set <key=value...>', 'config overrides, e.g. --set finetune.epochs=2')
    .option('--python <path>', 'interpreter with PyTorch', '/usr/bin/python3')
    .action(async (opts: { config: string; smoke?: boolean; set?: string[]; python: string }) => {
      process.exitCode = await trainCommand(opts);
    });
  return program;
}
