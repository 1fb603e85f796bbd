/**
 * `offramp serve` alone, for spawning from source (tsx): the CLI's own serve command (flags,
 * environment, the `{"listening": url}` line, drain on SIGTERM), without loading the other
 * subcommands, so that a process under test holds the edge and nothing else.
 */
import { Command } from 'commander';
import { addServeCommand } from './serve.js';

const program = new Command('offramp');
addServeCommand(program);
await program.parseAsync(process.argv);
