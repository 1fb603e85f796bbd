/**
 * Starts `offramp serve` in its own process (so its RSS, its crashes and its exit code are its
 * own) on port 0, and stops it. From source through tsx (tests: cli/serve-main.ts, the serve command
 * alone) or from dist (npm scripts: the built CLI).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { waitForListening } from '../../scenario/serve-process.js';
import { loadBundle, type LoadedBundle } from '../../protocol/bundle.js';

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

/** How to start the server process. */
export interface SpawnOptions {
  /** From source through tsx (tests) instead of dist. */
  fromSource?: boolean;
  /** e.g. '1': pin the server to these cores with taskset, so that a load client pinned to the others does not take its CPU. */
  cpus?: string;
  /** Node.js flags for the server (e.g. --cpu-prof, which NODE_OPTIONS does not take). */
  nodeArgs?: string[];
}

export async function spawnServe(models: string, args: string[] = [], o: SpawnOptions = {}): Promise<ServeProcess> {
  const entry = [...(o.nodeArgs ?? []), ...(o.fromSource ? ['--import', 'tsx', join(ROOT, 'cli', 'serve-main.ts')] : [join(ROOT, 'dist', 'cli', 'index.js')])];
  const argv = [...entry, 'serve', '--models', models, '--port', '0', '--log-level', 'warn', ...args];
  // taskset execs the command: the pid stays the server's.
  const child = o.cpus
    ? spawn('taskset', ['-c', o.cpus, process.execPath, ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await waitForListening(child);
  return {
    child,
    pid: child.pid!,
    url,
    port: Number(new URL(url).port),
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Pins every thread of this process to `cpus` (taskset -a -p), e.g. a load client kept off the server's core. */
export function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

/** One bundle served by its own `offramp serve` from a fresh models folder. */
export interface ServedCopy {
  server: ServeProcess;
  /** The served copy, loaded (for clients: manifest and its sha256). */
  bundle: LoadedBundle;
  /** Drains the server (SIGTERM) and removes the folder; the server's exit code. Safe to call twice. */
  close: () => Promise<number | null>;
}

/** Copies `bundleDir` into a temporary models folder and serves it (see {@link spawnServe}). */
export async function serveBundleCopy(bundleDir: string, args: string[] = [], o: SpawnOptions = {}): Promise<ServedCopy> {
  const models = await mkdtemp(join(tmpdir(), 'offramp-serve-'));
  const dir = join(models, basename(bundleDir));
  try {
    await cp(bundleDir, dir, { recursive: true });
    const bundle = await loadBundle(dir);
    const server = await spawnServe(models, args, o);
    let closed: Promise<number | null> | undefined;
    return {
      server,
      bundle,
      close: () => (closed ??= server.stop().finally(() => rm(models, { recursive: true, force: true }))),
    };
  } catch (err) {
    await rm(models, { recursive: true, force: true });
    throw err;
  }
}
