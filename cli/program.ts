/** The `offramp` command line: one subcommand per job. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { inspectCommand } from './inspect.js';

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
  return program;
}
