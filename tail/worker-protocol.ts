/** Messages between the server thread and its inference workers. */

/** One graph a worker serves: key `${bundleId}@${version}/${tail|full}`. */
export interface WorkerGraph {
  key: string;
  path: string;
  input: string;
  /** Output names in the order answers use them. */
  outputs: string[];
  sampleShape: number[];
  sampleSize: number;
}

export interface WorkerInit {
  graphs: WorkerGraph[];
  intraOpThreads: number;
  spinning: boolean;
  /** Nice value the worker thread sets for itself (Linux; 0: leave it). */
  nice?: number;
}

/** A batch: `n` samples laid out back to back in `data` (transferred, not copied). */
export interface WorkerJob {
  type: 'run';
  id: number;
  key: string;
  n: number;
  data: Float32Array;
}

/**
 * Finish the batch in hand, release the sessions and exit. Never `Worker.terminate()` a worker
 * that may be computing: onnxruntime-node then throws a Napi::Error on the dying thread and the
 * whole process aborts (std::terminate).
 */
export interface WorkerStop {
  type: 'stop';
}

export type WorkerMessage = WorkerJob | WorkerStop;

import type { OutputData } from '../bottleneck/outputs.js';

/** One output of a batch: its values for all `n` samples, back to back. */
export type { OutputData };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  /** `input`: the batch's own buffer, handed back (transferred) for the scheduler to fill again. */
  | { type: 'result'; id: number; ok: true; outputs: OutputData[]; computeUs: number; input: Float32Array }
  | { type: 'result'; id: number; ok: false; message: string };
