/**
 * Starts `offramp serve` in its own process (so its RSS, its crashes and its exit code are its
 * own) on port 0, and stops it. From source through tsx (tests) or from dist (npm scripts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitForListening } from '../../cli/serve.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface ServeProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  port: number;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGTERM (a drain), then the exit code. */
  stop(): Promise<number | null>;
}

export async function spawnServe(models: string, args: string[] = [], o: { fromSource?: boolean } = {}): Promise<ServeProcess> {
  const entry = o.fromSource ? ['--import', 'tsx', join(ROOT, 'cli', 'index.ts')] : [join(ROOT, 'dist', 'cli', 'index.js')];
  const child = spawn(process.execPath, [...entry, 'serve', '--models', models, '--port', '0', '--log-level', 'warn', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await waitForListening(child);
  return {
    child, pid: child.pid!, url, port: Number(new URL(url).port), exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
