/**
 * Starting a worker thread from a module beside the caller: the compiled `.js` in dist/, or the
 * `.ts` source through tsx's loader (registered inside the worker) when running from source.
 * Shared plumbing for the edge's inference pool and the device's head worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Spawns `name` (without extension) resolved against `base` (the caller's import.meta.url). */
export function spawnModuleWorker(base: string, name: string, workerData: unknown): Worker {
  const js = new URL(`./${name}.js`, base);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData });
  const ts = new URL(`./${name}.ts`, base).href;
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
