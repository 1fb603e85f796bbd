/**
 * A ModelSession whose onnxruntime-node session lives in a worker thread, so `run()` never blocks
 * the app's event loop (worth it for large heads). Node.js only.
 */
import { spawnModuleWorker } from '../protocol/worker.js';
import type { ModelSession } from './backend.js';

export type HeadWorkerRequest =
  | { type: 'open'; id: number; model: Uint8Array; threads: number }
  | { type: 'run'; id: number; feeds: Record<string, { data: Float32Array; dims: number[] }> }
  | { type: 'release'; id: number };

export type HeadWorkerReply =
  | { type: 'opened'; id: number; inputNames: string[]; outputNames: string[] }
  | { type: 'result'; id: number; outputs: Record<string, { data: Float32Array; dims: number[] }> }
  | { type: 'released'; id: number }
  | { type: 'error'; id: number; message: string };

/** Opens `model` in a new worker thread. */
export async function openInWorker(model: Uint8Array, threads = 1): Promise<ModelSession> {
  const worker = spawnModuleWorker(import.meta.url, 'head-worker', null);
  let nextId = 1;
  const waiting = new Map<number, { resolve: (r: HeadWorkerReply) => void; reject: (e: Error) => void }>();
  worker.on('message', (r: HeadWorkerReply) => {
    const w = waiting.get(r.id);
    waiting.delete(r.id);
    if (!w) return;
    if (r.type === 'error') w.reject(new Error(r.message));
    else w.resolve(r);
  });
  const failAll = (err: Error): void => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`head worker exited with code ${code}`)));
  const call = (msg: HeadWorkerRequest, transfer: ArrayBuffer[] = []): Promise<HeadWorkerReply> =>
    new Promise((resolve, reject) => {
      waiting.set(msg.id, { resolve, reject });
      worker.postMessage(msg, transfer);
    });
  const opened = await call({ type: 'open', id: nextId++, model, threads });
  if (opened.type !== 'opened') throw new Error('head worker did not open the model');
  return {
    inputNames: opened.inputNames,
    outputNames: opened.outputNames,
    async run(feeds) {
      const plain: Record<string, { data: Float32Array; dims: number[] }> = {};
      for (const [k, t] of Object.entries(feeds)) plain[k] = { data: t.data.slice(), dims: [...t.dims] };
      const r = await call(
        { type: 'run', id: nextId++, feeds: plain },
        Object.values(plain).map((t) => t.data.buffer as ArrayBuffer),
      );
      if (r.type !== 'result') throw new Error('head worker gave no result');
      return r.outputs;
    },
    async release() {
      await call({ type: 'release', id: nextId++ });
      await worker.terminate();
    },
  };
}
