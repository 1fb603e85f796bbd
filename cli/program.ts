/** The `offramp` command line: one subcommand per job. */
import { Command } from 'commander';
import { addBenchCommand } from './bench.js';
import { addDemoCommand } from './demo.js';
import { addDoctorCommand } from './doctor.js';
import { addEvalCommand } from './eval.js';
import { inspectCommand } from './inspect.js';
import { addServeCommand } from './serve.js';
import { addSplitCommands } from './split.js';
import { trainCommand } from './train.js';
import { packageVersion } from '../scenario/package.js';

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
      process.exitCode = await inspectCommand(
        dir,
        opts,
        (s) => console.log(s),
        (s) => console.error(s),
      );
    });
  addEvalCommand(program);
  addServeCommand(program);
  addSplitCommands(program);
  addDemoCommand(program);
  addDoctorCommand(program);
  addBenchCommand(program);
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
